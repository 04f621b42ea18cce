import test from 'ava';
import type { EnrichConfig } from '../src/common/config';
import { PoisonRecordError } from '../src/common/errors';
import { resourceSplicer } from '../src/export/enrichment';
import { JsonBytes } from '../src/export/json-bytes';
import { MAX_DEPTH, OtlpJsonTranscoder } from '../src/export/otlp-json-transcoder';
import { referenceJson } from './helpers/otlp-json-reference';
import { randomInt, seededRandom, type Random } from './fixtures/vault-records';
import { WireType } from '../src/common/otlp-wire';

/*
 * Random requests are written here field by field (not through protobufjs's encoder), so
 * that they hold what an encoder never writes but the wire allows: fields out of order, a
 * scalar twice, a message split into occurrences that merge, several oneof members, unknown
 * fields of every wire type (groups too), known field numbers with the wrong wire type,
 * varints longer than needed, invalid UTF-8.
 */

// The wire types, as locals: the walk compares them on every field.
const { Varint: VARINT, Fixed64: FIXED64, Len: LEN, StartGroup: START_GROUP, EndGroup: END_GROUP, Fixed32: FIXED32 } = WireType;

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

const tag = (field: number, type: number): Buffer => varint(BigInt(field * 8 + type));
const lenField = (field: number, body: Buffer): Buffer => Buffer.concat([tag(field, LEN), varint(BigInt(body.length)), body]);
const varintField = (field: number, value: bigint): Buffer => Buffer.concat([tag(field, VARINT), varint(value)]);

function fixedField(field: number, bytes: number, random: Random): Buffer {
  const value = Buffer.alloc(bytes);
  // Zero now and then: a field at its default is left out of the JSON.
  if (random() > 0.15) for (let i = 0; i < bytes; i++) value[i] = randomInt(random, 0, 255);
  return Buffer.concat([tag(field, bytes === 8 ? FIXED64 : FIXED32), value]);
}

const PIECES = ['a', 'Z', ' ', 'plain ascii run', '"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', '{', '/'].map((s) => Buffer.from(s, 'utf8'));
const INVALID = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80])];

function text(random: Random): Buffer {
  if (random() < 0.15) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let n = randomInt(random, 1, 12); n > 0; n--) parts.push(random() < 0.04 ? INVALID[randomInt(random, 0, INVALID.length - 1)] : PIECES[randomInt(random, 0, PIECES.length - 1)]);
  return Buffer.concat(parts);
}

const INTS = [0n, 1n, -1n, 127n, 128n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 3n, 1700000000123456789n];
const DOUBLES = [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 1e300, 5e-324, 1e21, 0.1, 123456789.125];

/** Unknown fields, and known numbers with a wire type that makes them unknown. */
function unknownField(random: Random, depth = 0): Buffer {
  const field = random() < 0.5 ? randomInt(random, 1, 12) : randomInt(random, 13, 3000);
  switch (randomInt(random, 0, depth < 2 ? 4 : 3)) {
    case 0:
      return varintField(field, BigInt(randomInt(random, 0, 2 ** 31)) * 3n);
    case 1:
      return Buffer.concat([tag(field, FIXED64), Buffer.alloc(8, 7)]);
    case 2:
      return Buffer.concat([tag(field, FIXED32), Buffer.alloc(4, 9)]);
    case 3:
      return lenField(field, text(random));
    default: {
      const inner: Buffer[] = [];
      for (let n = randomInt(random, 0, 3); n > 0; n--) inner.push(unknownField(random, depth + 1));
      return Buffer.concat([tag(field, START_GROUP), ...inner, tag(field, END_GROUP)]);
    }
  }
}

/** A message from its fields: shuffled now and then, with unknown fields mixed in. */
function message(random: Random, fields: Buffer[]): Buffer {
  const all = [...fields];
  if (random() < 0.1) all.push(unknownField(random));
  if (random() < 0.2) {
    for (let i = all.length - 1; i > 0; i--) {
      const j = randomInt(random, 0, i);
      [all[i], all[j]] = [all[j], all[i]];
    }
  }
  return Buffer.concat(all);
}

/** A singular message field, now and then split in two occurrences (which merge). */
function messageField(random: Random, field: number, fields: Buffer[]): Buffer[] {
  if (fields.length < 2 || random() > 0.1) return [lenField(field, message(random, fields))];
  const cut = randomInt(random, 1, fields.length - 1);
  return [lenField(field, Buffer.concat(fields.slice(0, cut))), lenField(field, Buffer.concat(fields.slice(cut)))];
}

/** Sometimes a scalar twice (the last wins), or not at all. */
function scalar(random: Random, make: () => Buffer): Buffer[] {
  const r = random();
  if (r < 0.3) return [];
  if (r < 0.38) return [make(), make()];
  return [make()];
}

function anyValueFields(random: Random, depth: number): Buffer[] {
  const members = random() < 0.08 ? 2 : 1;
  const fields: Buffer[] = [];
  for (let m = 0; m < members; m++) {
    switch (randomInt(random, 0, depth > 3 ? 5 : 8)) {
      case 0:
        break; // an AnyValue with nothing set
      case 1:
        fields.push(lenField(1, text(random)));
        break;
      case 2:
        // protobufjs reads a bool as "any bit set", over up to ten bytes.
        fields.push(Buffer.concat([tag(2, VARINT), [Buffer.from([1]), Buffer.from([0]), Buffer.from([0x80, 0x01]), Buffer.from([0x80, 0x00])][randomInt(random, 0, 3)]]));
        break;
      case 3:
        fields.push(varintField(3, INTS[randomInt(random, 0, INTS.length - 1)]));
        break;
      case 4: {
        const value = Buffer.alloc(8);
        value.writeDoubleLE(random() < 0.7 ? DOUBLES[randomInt(random, 0, DOUBLES.length - 1)] : (random() - 0.5) * 10 ** randomInt(random, -20, 20));
        fields.push(Buffer.concat([tag(4, FIXED64), value]));
        break;
      }
      case 5: {
        const bytes = Buffer.alloc(randomInt(random, 0, 7));
        for (let i = 0; i < bytes.length; i++) bytes[i] = randomInt(random, 0, 255);
        fields.push(lenField(7, bytes));
        break;
      }
      case 6:
      case 7: {
        const values: Buffer[] = [];
        for (let n = randomInt(random, 0, 3); n > 0; n--) values.push(...messageField(random, 1, anyValueFields(random, depth + 1)));
        fields.push(...messageField(random, 5, values));
        break;
      }
      default: {
        const values: Buffer[] = [];
        for (let n = randomInt(random, 0, 3); n > 0; n--) values.push(lenField(1, keyValue(random, depth + 1)));
        fields.push(...messageField(random, 6, values));
      }
    }
  }
  return fields;
}

function keyValue(random: Random, depth: number): Buffer {
  const fields = [...scalar(random, () => lenField(1, text(random)))];
  if (random() < 0.85) fields.push(...messageField(random, 2, anyValueFields(random, depth)));
  return message(random, fields);
}

function attributes(random: Random, field: number): Buffer[] {
  const out: Buffer[] = [];
  for (let n = randomInt(random, 0, 3); n > 0; n--) out.push(lenField(field, keyValue(random, 0)));
  return out;
}

function logRecord(random: Random): Buffer {
  const id = (bytes: number): Buffer => {
    const value = Buffer.alloc(random() < 0.3 ? 0 : bytes);
    for (let i = 0; i < value.length; i++) value[i] = randomInt(random, 0, 255);
    return value;
  };
  const fields = [
    ...scalar(random, () => fixedField(1, 8, random)),
    ...scalar(random, () => fixedField(11, 8, random)),
    ...scalar(random, () => varintField(2, BigInt(randomInt(random, -3, 24)))),
    ...scalar(random, () => lenField(3, text(random))),
    ...(random() < 0.7 ? messageField(random, 5, anyValueFields(random, 0)) : []),
    ...attributes(random, 6),
    ...scalar(random, () => varintField(7, BigInt(randomInt(random, 0, 5)) * (random() < 0.1 ? 2n ** 31n : 1n))),
    ...scalar(random, () => fixedField(8, 4, random)),
    ...scalar(random, () => lenField(9, id(16))),
    ...scalar(random, () => lenField(10, id(8))),
    ...scalar(random, () => lenField(12, text(random))),
  ];
  return message(random, fields);
}

function request(random: Random): Buffer {
  const resourceLogs: Buffer[] = [];
  for (let r = randomInt(random, 0, 3); r > 0; r--) {
    const scopeLogs: Buffer[] = [];
    for (let s = randomInt(random, 0, 3); s > 0; s--) {
      const records: Buffer[] = [];
      for (let n = randomInt(random, 0, 5); n > 0; n--) records.push(lenField(2, random() < 0.1 ? Buffer.alloc(0) : logRecord(random)));
      const scope = [
        ...scalar(random, () => lenField(1, text(random))),
        ...scalar(random, () => lenField(2, text(random))),
        ...attributes(random, 3),
        ...scalar(random, () => varintField(4, BigInt(randomInt(random, 0, 3)))),
      ];
      const fields = [...(random() < 0.7 ? messageField(random, 1, scope) : []), ...records, ...scalar(random, () => lenField(3, text(random)))];
      scopeLogs.push(lenField(2, message(random, fields)));
    }
    const entityRefs: Buffer[] = [];
    for (let e = randomInt(random, 0, 2) - 1; e > 0; e--) {
      const keys = (field: number): Buffer[] => Array.from({ length: randomInt(random, 0, 2) }, () => lenField(field, text(random)));
      entityRefs.push(lenField(3, message(random, [...scalar(random, () => lenField(1, text(random))), ...scalar(random, () => lenField(2, text(random))), ...keys(3), ...keys(4)])));
    }
    const resource = [...attributes(random, 1), ...scalar(random, () => varintField(2, BigInt(randomInt(random, 0, 9)))), ...entityRefs];
    const fields = [...(random() < 0.7 ? messageField(random, 1, resource) : []), ...scopeLogs, ...scalar(random, () => lenField(3, text(random)))];
    resourceLogs.push(lenField(1, message(random, fields)));
  }
  return message(random, resourceLogs);
}

function enrichment(random: Random): EnrichConfig | null {
  if (random() < 0.4) return null;
  const attributes: Record<string, string | number | boolean> = {};
  const keys = ['team', 'zone.id', 'service.name', ''];
  const values = ['x', '', 'quote"d', 7, -1, 0.5, true];
  for (let i = randomInt(random, 1, 3); i > 0; i--) attributes[keys[randomInt(random, 0, keys.length - 1)]] = values[randomInt(random, 0, values.length - 1)];
  return { host_name: random() < 0.5, service_instance_id: random() < 0.5, k8s_env: {}, attributes, override: random() < 0.5 };
}

function transcode(transcoder: OtlpJsonTranscoder, out: JsonBytes, bytes: Uint8Array): string {
  out.reset();
  transcoder.write(bytes, out);
  return out.view().toString('utf8');
}

test('the transcoder writes byte for byte what protobufjs decoding and the reference walk write, on 3,000 seeded random requests', (t) => {
  // One transcoder and one buffer for all, as the export pipeline keeps them.
  const transcoder = new OtlpJsonTranscoder();
  const out = new JsonBytes();
  const seen = { valid: 0, poison: 0, invalidUtf8: 0, enriched: 0 };
  for (let seed = 1; seed <= 3000; seed++) {
    const random = seededRandom(seed);
    const config = enrichment(random);
    const plain = request(random);
    let bytes: Uint8Array = plain;
    if (config !== null) {
      try {
        bytes = resourceSplicer(config, {}).splice(plain);
        seen.enriched++;
      } catch (err) {
        // The splice walks resources and attribute keys: what it refuses is poison before the transcoder is reached.
        t.true(err instanceof PoisonRecordError, `seed ${seed}: splice`);
        t.throws(() => referenceJson(plain), undefined, `seed ${seed}: poison for the reference too`);
        seen.poison++;
        continue;
      }
    }
    let expected: string | undefined;
    let refused: unknown;
    try {
      expected = referenceJson(bytes);
    } catch (err) {
      refused = err;
    }
    if (expected === undefined) {
      seen.poison++;
      t.throws(() => transcode(transcoder, out, bytes), { instanceOf: PoisonRecordError }, `seed ${seed}: poison for both; the reference says ${String(refused)}`);
      continue;
    }
    seen.valid++;
    if (expected.includes('\ufffd')) seen.invalidUtf8++;
    const written = transcode(transcoder, out, bytes);
    if (written !== expected) t.fail(`seed ${seed}: request ${Buffer.from(bytes).toString('hex')}\n  ours: ${written}\n  reference: ${expected}`);
  }
  t.log(seen);
  // The generator must mostly make valid requests, or the comparison says little.
  t.true(seen.valid > 2700, 'mostly valid requests');
  t.true(seen.invalidUtf8 > 100, 'invalid UTF-8 exercised');
  t.true(seen.enriched > 1000, 'enrichment exercised');
  t.pass();
});

test('the nesting limit is protobufjs\'s: one level past it is poison, and the output buffer is left as it was', (t) => {
  const transcoder = new OtlpJsonTranscoder();
  const out = new JsonBytes();
  // A log record's body is message depth 4; each ArrayValue and the AnyValue in it add two.
  const nested = (arrays: number): Buffer => {
    let value = lenField(1, Buffer.from('leaf'));
    for (let i = 0; i < arrays; i++) value = lenField(5, lenField(1, value));
    return lenField(1, lenField(2, lenField(2, lenField(5, value))));
  };
  const deepest = (MAX_DEPTH - 4) / 2;
  t.is(transcode(transcoder, out, nested(deepest)), referenceJson(nested(deepest)));
  t.throws(() => referenceJson(nested(deepest + 1)));
  out.reset();
  out.ascii('kept');
  t.throws(() => transcoder.write(nested(deepest + 1), out), { instanceOf: PoisonRecordError, message: /nested deeper/ });
  t.is(out.view().toString(), 'kept');
  // Far past any limit (built inside out in one pass): refused without exhausting the stack.
  const leaf = lenField(1, Buffer.from('leaf'));
  const headers: Buffer[] = [];
  let size = leaf.length;
  for (let i = 0; i < 200_000; i++) {
    const header = Buffer.concat([tag(i % 2 === 0 ? 1 : 5, LEN), varint(BigInt(size))]);
    headers.push(header);
    size += header.length;
  }
  const deep = lenField(1, lenField(2, lenField(2, lenField(5, Buffer.concat([...headers.reverse(), leaf])))));
  t.throws(() => transcoder.write(deep, out), { instanceOf: PoisonRecordError, message: /nested deeper/ });
});

test('an empty log record costs three bytes of output and nothing per record in the heap', (t) => {
  const transcoder = new OtlpJsonTranscoder();
  const out = new JsonBytes();
  const records = 1_000_000;
  const body = Buffer.alloc(records * 2, Buffer.from([0x12, 0x00]));
  const bytes = lenField(1, lenField(2, body));
  const count = transcoder.write(bytes, out);
  t.is(count, records);
  const json = out.view();
  t.is(json.length, '{"resourceLogs":[{"scopeLogs":[{"logRecords":[]}]}]}'.length + records * 3 - 1);
  t.is(json.subarray(0, 51).toString(), '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{}');
});

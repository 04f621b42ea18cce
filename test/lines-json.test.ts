import test from 'ava';
import type { EnrichConfig } from '../src/common/config';
import { encodeLinesHeader, LinesTransport } from '../src/common/lines-record';
import { decodeLogsRequest, encodeLogsRequest, ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { attributeMerge, resourceSplicer } from '../src/export/enrichment';
import { JsonBytes } from '../src/export/json-bytes';
import type { LinesRequest } from '../src/export/lines-decoder';
import { OtlpJsonTranscoder } from '../src/export/otlp-json-transcoder';
import { decodeLinesRecord } from '../src/export/lines-decoder';
import { logsRequestToJson } from './helpers/otlp-json-reference';
import { randomInt, seededRandom, type Random } from './fixtures/vault-records';

// Bytes that stress what a line may hold: JSON escapes, CR, control bytes, multi-byte UTF-8,
// and bytes that are not UTF-8 at all (to become U+FFFD).
const PIECES = ['a', 'Z', '0', ' ', 'plain ascii run', '"', '\\', '\r', '\n', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', '{', '}'].map((s) => Buffer.from(s, 'utf8'));
const INVALID = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82]), Buffer.from([0xed, 0xa0, 0x80])];
// Keys the lines' own attributes use, so that both rules for a clash get exercised.
const KEYS = ['gophership.receiver', 'network.transport', 'network.peer.port', 'team', 'zone.id'];
const VALUES = ['x', '', 'quote"d', 7, -1, 2 ** 53, 0.5, -0, true, false];

function randomLines(random: Random): Buffer {
  const parts: Buffer[] = [];
  const n = randomInt(random, 0, 60);
  for (let i = 0; i < n; i++) parts.push(random() < 0.05 ? INVALID[randomInt(random, 0, INVALID.length - 1)] : PIECES[randomInt(random, 0, PIECES.length - 1)]);
  // Ingest cuts records at line ends: every record ends with a newline.
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

function randomEnrichment(random: Random): { config: EnrichConfig; env: NodeJS.ProcessEnv } {
  const attributes: Record<string, string | number | boolean> = {};
  for (let i = randomInt(random, 0, 3); i > 0; i--) attributes[KEYS[randomInt(random, 0, KEYS.length - 1)]] = VALUES[randomInt(random, 0, VALUES.length - 1)];
  const config: EnrichConfig = {
    host_name: random() < 0.5,
    service_instance_id: random() < 0.5,
    k8s_env: { POD: 'k8s.pod.name', NODE: 'network.transport' },
    attributes,
    override: random() < 0.5,
  };
  return { config, env: random() < 0.5 ? { POD: 'pod-1', NODE: 'node-a' } : {} };
}

const transcoder = new OtlpJsonTranscoder();

/** The requests as the export pipeline writes them for the file exporter: one line each. */
function writeJsonLines(requests: ReadonlyArray<LinesRequest | Uint8Array>, out: JsonBytes): Buffer {
  out.reset();
  for (const request of requests) {
    if (request instanceof Uint8Array) transcoder.write(request, out);
    else request.writeOtlpJson(out, transcoder);
    out.ascii('\n');
  }
  return out.view();
}

test('lines records give the same OTLP/JSON and protobuf as building them plain, encoding, splicing the enrichment and decoding, on 500 seeded records', (t) => {
  // One buffer for every record, as an exporter keeps it: what a record leaves must not leak into the next.
  const out = new JsonBytes();
  for (let seed = 1; seed <= 500; seed++) {
    const random = seededRandom(seed);
    const transport = random() < 0.5 ? LinesTransport.Tcp : LinesTransport.Unix;
    const source = transport === LinesTransport.Tcp ? `10.1.2.${seed % 250}:${seed}` : '/run/app "x".sock';
    const record = { payload: Buffer.concat([encodeLinesHeader(transport, source), randomLines(random)]), receivedMs: seed % 7 === 0 ? 0 : 1764230000000 + seed };
    const { config, env } = randomEnrichment(random);

    const spliced = resourceSplicer(config, env).splice(encodeLogsRequest(decodeLinesRecord(record)));
    const lines = decodeLinesRecord(record, attributeMerge(config, env));
    const expected = logsRequestToJson(decodeLogsRequest(spliced));

    t.is(writeJsonLines([lines], out).toString('utf8'), `${expected}\n`, `seed ${seed}: JSON written from the bytes`);
    t.is(logsRequestToJson({ resourceLogs: lines.resourceLogs }), expected, `seed ${seed}: JSON walked from the records`);
    t.true(Buffer.from(encodeLogsRequest(lines)).equals(Buffer.from(spliced)), `seed ${seed}: protobuf built enriched`);
    t.true(Buffer.from(lines.encode()).equals(Buffer.from(spliced)), `seed ${seed}: protobuf written from the bytes`);
    t.is(lines.logRecordCount, lines.resourceLogs[0]?.scopeLogs[0].logRecords.length ?? 0, `seed ${seed}: count`);
  }
});

test('one buffer takes a batch of protobuf requests and lines records larger than it started with, each line as JSON.stringify writes it', (t) => {
  const out = new JsonBytes();
  const line = `${'"quoted" \\ tab\t é '.repeat(20_000)}end`;
  const lines = decodeLinesRecord({ payload: Buffer.concat([encodeLinesHeader(LinesTransport.Tcp, '10.0.0.1:1'), Buffer.from(`short\n${line}\n`)]), receivedMs: 1764230000000 });
  const protoBytes = ExportLogsServiceRequest.encode({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'from protobuf' }, severityNumber: 9 }] }] }] }).finish();
  const proto = decodeLogsRequest(protoBytes);
  const written = writeJsonLines([protoBytes, lines, protoBytes], out).toString('utf8');
  const expected = [proto, { resourceLogs: lines.resourceLogs }, proto].map((r) => `${logsRequestToJson(r)}\n`).join('');
  t.true(written.length > 64 * 1024, 'past the buffer\'s first size');
  t.is(written, expected);
  t.is(JSON.parse(written.split('\n')[1]).resourceLogs[0].scopeLogs[0].logRecords[1].body.stringValue, line);
});

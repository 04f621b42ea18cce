/**
 * The OTLP receivers and decode path fuzz:
 *   npm run fuzz:otlp -- [cases=3000] [seed=random] [seconds=600]
 * Valid ExportLogsServiceRequests (protobuf and JSON, gzip or not; every AnyValue kind, hex
 * ids, int64 as strings and numbers, severity by name and number, nesting, unknown fields,
 * .proto field names) are damaged by seeded mutations (bit flips, truncations, splices from
 * another request, length or digit edits, duplicated fields, or none) and then
 *  - decoded the way the exporter does (record-decoder.ts; protobuf also re-encoded), where
 *    anything but success or PoisonRecordError is a crash and a slow case a hang;
 *  - POSTed to the OTLP/HTTP receiver of a real engine (protobuf ones also to OTLP/gRPC),
 *    each under a watchdog.
 * A case fails when a receiver crashes or hangs, refuses an undamaged request, or a child
 * process restarts. At the end the engine is stopped and every record of every acknowledged
 * request that the exporter's decoder accepts must be in the output exactly as often as it
 * was sent. Prints a JSON report and exits 1 on any failure; replay with the same seed.
 */
import * as grpc from '@grpc/grpc-js';
import { gzipSync } from 'node:zlib';
import { PoisonRecordError } from '../src/common/errors';
import { jsonUnitBudget } from '../src/common/otlp-json-scan';
import { encodeLogsRequest } from '../src/common/otlp-proto';
import { setLogLevel } from '../src/common/log';
import { RecordFlag, RecordKind } from '../src/common/record-kind';
import type { RingRecord } from '../src/common/ring';
import { decodeRecord, type LogsRequest } from '../src/export/record-decoder';
import { startEngine } from '../test/helpers/engine';
import { post } from '../test/helpers/otlp-http';
import { countIds } from '../test/helpers/output';
import { randomInt, seededRandom, type Random } from '../test/fixtures/vault-records';

const CASE_TIMEOUT_MS = 10_000;
/** A decode that takes longer than this on one small request is counted as a hang. */
const DECODE_HANG_MS = 2_000;
const MAX_PAYLOAD = 20 * 1024 * 1024;
const UNITS = jsonUnitBudget(512);
const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const ID_KEY = 'test.id';

type Encoding = 'proto' | 'json';

const pick = <T>(random: Random, items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)];
const hex = (random: Random, bytes: number): string => Array.from({ length: bytes }, () => randomInt(random, 0, 255).toString(16).padStart(2, '0')).join('');

/** An AnyValue in OTLP/JSON, of a random kind, nested up to `depth`. */
function anyValue(random: Random, depth: number): Record<string, unknown> {
  const kinds = depth > 0 ? 8 : 6;
  switch (randomInt(random, 0, kinds - 1)) {
    case 0:
      return { stringValue: pick(random, ['', 'x', 'é€😀', 'quote " back \\ slash', 'a'.repeat(randomInt(random, 0, 300))]) };
    case 1:
      return { boolValue: random() < 0.5 };
    case 2:
      return { intValue: random() < 0.5 ? String(randomInt(random, -1e9, 1e9)) + '000000000' : randomInt(random, -1e9, 1e9) };
    case 3:
      return { doubleValue: random() < 0.1 ? pick(random, ['NaN', 'Infinity', '-Infinity']) : (random() - 0.5) * 1e6 };
    case 4:
      return { bytesValue: Buffer.from(hex(random, randomInt(random, 0, 20)), 'hex').toString('base64') };
    case 5:
      return {};
    case 6:
      return { arrayValue: { values: Array.from({ length: randomInt(random, 0, 3) }, () => anyValue(random, depth - 1)) } };
    default:
      return { kvlistValue: { values: Array.from({ length: randomInt(random, 0, 3) }, (_, i) => ({ key: `k${i}`, value: anyValue(random, depth - 1) })) } };
  }
}

/** A valid request in OTLP/JSON form, its records tagged `prefix-n`. */
function randomRequest(random: Random, prefix: string): Record<string, unknown> {
  let n = 0;
  const record = (): Record<string, unknown> => ({
    timeUnixNano: random() < 0.5 ? '1700000000000000001' : 1700000000000,
    observedTimeUnixNano: String(randomInt(random, 0, 1e9)),
    severityNumber: random() < 0.5 ? randomInt(random, 0, 24) : pick(random, ['SEVERITY_NUMBER_INFO', 'SEVERITY_NUMBER_ERROR4']),
    severityText: 'INFO',
    body: anyValue(random, 3),
    attributes: [{ key: ID_KEY, value: { stringValue: `${prefix}-${n++}` } }, { key: 'a', value: anyValue(random, 2) }],
    traceId: random() < 0.5 ? hex(random, 16) : '',
    spanId: random() < 0.5 ? hex(random, 8).toUpperCase() : '',
    flags: randomInt(random, 0, 255),
    ...(random() < 0.2 ? { futureField: { nested: [1, 'two', null] } } : {}),
  });
  return {
    resourceLogs: Array.from({ length: randomInt(random, 1, 2) }, () => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
      scopeLogs: Array.from({ length: randomInt(random, 1, 2) }, () => ({
        scope: { name: 'fuzz', version: '1' },
        logRecords: Array.from({ length: randomInt(random, 0, 6) }, record),
        schemaUrl: '',
      })),
    })),
  };
}

/** The same request as the protobuf an SDK would send. */
function toProto(json: Record<string, unknown>): Buffer {
  const text = Buffer.from(JSON.stringify(json));
  const bytes = encodeLogsRequest(decodeRecord({ kind: RecordKind.OtlpHttpJson, flags: 0, payload: text, receivedMs: 0 } as RingRecord, MAX_PAYLOAD, UNITS));
  return Buffer.from(bytes);
}

type Mutation = (bytes: Buffer, random: Random, other: Buffer, encoding: Encoding) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  none: (bytes) => bytes,
  bitFlip(bytes, random) {
    const out = Buffer.from(bytes);
    for (let i = randomInt(random, 1, 3); i > 0 && out.length > 0; i--) out[randomInt(random, 0, out.length - 1)] ^= 1 << randomInt(random, 0, 7);
    return out;
  },
  truncate: (bytes, random) => bytes.subarray(0, randomInt(random, 0, Math.max(0, bytes.length - 1))),
  splice: (bytes, random, other) => Buffer.concat([bytes.subarray(0, randomInt(random, 0, bytes.length)), other.subarray(randomInt(random, 0, other.length))]),
  /** A length varint (protobuf) or a digit (JSON) moved by a little. */
  lengthEdit(bytes, random, _other, encoding) {
    const out = Buffer.from(bytes);
    const wanted = encoding === 'proto' ? (b: number) => b > 0 && b < 0x80 : (b: number) => b >= 0x30 && b <= 0x39;
    for (let tries = 0; tries < 50 && out.length > 0; tries++) {
      const at = randomInt(random, 0, out.length - 1);
      if (!wanted(out[at])) continue;
      out[at] = encoding === 'proto' ? (out[at] + randomInt(random, -3, 3)) & 0x7f : 0x30 + randomInt(random, 0, 9);
      break;
    }
    return out;
  },
  /** The request's resourceLogs given twice: valid, and every record must arrive twice. */
  duplicateField(bytes, _random, _other, encoding) {
    if (encoding === 'proto') return Buffer.concat([bytes, bytes]);
    const text = bytes.toString();
    return Buffer.from(`{"resourceLogs":[],${text.slice(1)}`);
  },
  /** A JSON member's name in .proto form, or a protobuf unknown field appended. */
  rename(bytes, _random, _other, encoding) {
    if (encoding === 'proto') return Buffer.concat([bytes, Buffer.from([0x98, 0x06, 0x01])]);
    return Buffer.from(bytes.toString().replace(/"logRecords"/g, '"log_records"').replace(/"timeUnixNano"/g, '"time_unix_nano"'));
  },
};
const UNDAMAGING = new Set(['none', 'duplicateField', 'rename']);

interface Report {
  seed: number;
  cases: number;
  seconds: number;
  byMutation: Record<string, number>;
  http: Record<string, number>;
  grpc: Record<string, number>;
  decodeOk: number;
  decodePoison: number;
  crashes: number;
  hangs: number;
  recordsExpected: number;
  recordsDelivered: number;
  problems: string[];
}

function localDecode(payload: Buffer, encoding: Encoding, gzip: boolean): LogsRequest | PoisonRecordError {
  const record = { kind: encoding === 'json' ? RecordKind.OtlpHttpJson : RecordKind.OtlpHttpProto, flags: gzip ? RecordFlag.Gzip : 0, payload, receivedMs: 0 } as RingRecord;
  try {
    const decoded = decodeRecord(record, MAX_PAYLOAD, UNITS);
    if (encoding === 'proto') encodeLogsRequest(decoded);
    return decoded;
  } catch (err) {
    if (err instanceof PoisonRecordError) return err;
    throw err;
  }
}

function idsOf(request: LogsRequest, into: Map<string, number>): void {
  for (const rl of request.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const rec of sl.logRecords) {
        const id = rec.attributes.find((a) => a.key === ID_KEY)?.value?.stringValue;
        if (id !== undefined && id !== '') into.set(id, (into.get(id) ?? 0) + 1);
      }
}

function withWatchdog<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS)));
  return Promise.race([work, watchdog]).finally(() => clearTimeout(timer));
}

function grpcExport(client: grpc.Client, payload: Buffer): Promise<number> {
  return new Promise((resolve) => client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, payload, (err) => resolve(err?.code ?? 0)));
}

async function main(): Promise<void> {
  setLogLevel('error');
  const cases = Number(process.argv[2] ?? 3000);
  const seed = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 32));
  const seconds = Number(process.argv[4] ?? 600);
  const random = seededRandom(seed);
  const started = Date.now();
  const report: Report = { seed, cases: 0, seconds: 0, byMutation: {}, http: {}, grpc: {}, decodeOk: 0, decodePoison: 0, crashes: 0, hangs: 0, recordsExpected: 0, recordsDelivered: 0, problems: [] };
  const expected = new Map<string, number>();
  const engine = await startEngine();
  // A port race while starting (another process took a free port) restarts a child before the first case: not ours to count.
  const restarted = (): number => engine.logs.filter((l) => l.msg === 'child exited unexpectedly; restarting').length;
  const restartsAtStart = restarted();
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  const fail = (what: string): void => {
    if (report.problems.length < 50) report.problems.push(what);
  };
  let previous: Buffer = Buffer.from('{}');
  try {
    for (let c = 0; c < cases && Date.now() - started < seconds * 1000; c++) {
      report.cases++;
      const encoding: Encoding = random() < 0.5 ? 'json' : 'proto';
      const gzip = random() < 0.3;
      const json = randomRequest(random, `c${c}`);
      const original = encoding === 'json' ? Buffer.from(JSON.stringify(json)) : toProto(json);
      const name = pick(random, Object.keys(MUTATIONS));
      report.byMutation[name] = (report.byMutation[name] ?? 0) + 1;
      const mutated = MUTATIONS[name](original, random, previous, encoding);
      previous = original;
      const payload = gzip ? gzipSync(mutated) : mutated;
      const label = `case ${c} (${name}, ${encoding}${gzip ? ', gzip' : ''})`;

      const decodeStart = Date.now();
      let decoded: LogsRequest | PoisonRecordError;
      try {
        decoded = localDecode(payload, encoding, gzip);
      } catch (err) {
        report.crashes++;
        fail(`${label}: the exporter's decode threw ${(err as Error).stack}`);
        continue;
      }
      if (Date.now() - decodeStart > DECODE_HANG_MS) {
        report.hangs++;
        fail(`${label}: the exporter's decode took ${Date.now() - decodeStart} ms`);
      }
      if (decoded instanceof PoisonRecordError) report.decodePoison++;
      else report.decodeOk++;

      try {
        const headers: Record<string, string> = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
        const answer = await withWatchdog(post(engine.httpPort, '/v1/logs', headers, payload), `${label} over HTTP`);
        report.http[answer.status] = (report.http[answer.status] ?? 0) + 1;
        if (answer.status >= 500 && answer.status !== 503) fail(`${label}: HTTP ${answer.status}`);
        if (UNDAMAGING.has(name) && answer.status !== 200) fail(`${label}: an undamaged request was refused with ${answer.status}: ${answer.body.toString().slice(0, 200)}`);
        if (answer.status === 200 && !(decoded instanceof PoisonRecordError)) idsOf(decoded, expected);
        if (encoding === 'proto' && !gzip && random() < 0.3) {
          const code = await withWatchdog(grpcExport(client, mutated), `${label} over gRPC`);
          report.grpc[code] = (report.grpc[code] ?? 0) + 1;
          if (code === 0 && !(decoded instanceof PoisonRecordError)) idsOf(decoded, expected);
          if (UNDAMAGING.has(name) && code !== 0) fail(`${label}: an undamaged request was refused over gRPC with code ${code}`);
        }
      } catch (err) {
        if ((err as Error).message.startsWith('hang')) report.hangs++;
        else report.crashes++;
        fail(`${label}: ${(err as Error).message}`);
      }
    }
  } finally {
    client.close();
    const code = await engine.stop();
    if (code !== 0) fail(`the engine exited with ${code}`);
    const restarts = restarted() - restartsAtStart;
    if (restarts > 0) {
      report.crashes += restarts;
      fail(`${restarts} child restarts`);
    }
    const delivered = countIds(engine.outputPath);
    for (const [id, n] of expected) {
      report.recordsExpected += n;
      const got = delivered.get(id) ?? 0;
      report.recordsDelivered += Math.min(n, got);
      if (got !== n) fail(`record ${id}: sent ${n} times in acknowledged requests, delivered ${got}`);
    }
    await engine.cleanup();
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}

void main();

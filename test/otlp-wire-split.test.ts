import test from 'ava';
import { ExportTooLargeError } from '../src/common/errors';
import { ExportLogsServiceRequest, decodeLogsRequest } from '../src/common/otlp-proto';
import { countLogRecords, splitRequest } from '../src/common/otlp-wire-split';
import { randomRequest } from './fixtures/otlp-requests';
import { randomInt, seededRandom } from './fixtures/vault-records';

/** Every log record with its resource and scope, in order: what a split must keep. */
function flatten(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const request = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(bytes), { longs: String, bytes: String }) as {
    resourceLogs?: Array<{ resource?: unknown; schemaUrl?: string; scopeLogs?: Array<{ scope?: unknown; logRecords?: unknown[] }> }>;
  };
  for (const rl of request.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const record of sl.logRecords ?? []) out.push(JSON.stringify([rl.resource, rl.schemaUrl, sl.scope, record]));
    }
  }
  return out;
}

test('splitting keeps every record, in order, with its resource and scope, each part within the limit (500 seeded requests)', (t) => {
  for (let seed = 1; seed <= 500; seed++) {
    const random = seededRandom(seed);
    const { bytes } = randomRequest(random, seed % 2 === 0, { resourceLogs: 5, scopeLogs: 4, records: 12 });
    const max = randomInt(random, 700, Math.max(700, bytes.length));
    const parts = splitRequest(bytes, max);
    for (const part of parts) t.true(part.byteLength <= max, `seed ${seed}: part of ${part.byteLength} > ${max}`);
    t.deepEqual(parts.flatMap(flatten), flatten(bytes), `seed ${seed}`);
    t.is(countLogRecords(bytes), flatten(bytes).length, `seed ${seed}: count`);
  }
});

test('concatenated requests decode as one request with all their resource logs', (t) => {
  const a = randomRequest(seededRandom(11), true).bytes;
  const b = randomRequest(seededRandom(12), true).bytes;
  t.deepEqual(flatten(Buffer.concat([a, b])), [...flatten(a), ...flatten(b)]);
  t.is(decodeLogsRequest(Buffer.concat([a, b])).resourceLogs.length, decodeLogsRequest(a).resourceLogs.length + decodeLogsRequest(b).resourceLogs.length);
});

test('a request under the limit is returned whole, without a copy', (t) => {
  const { bytes } = randomRequest(seededRandom(3), true);
  t.deepEqual(splitRequest(bytes, bytes.length), [bytes]);
});

test('one log record larger than the limit cannot be split', (t) => {
  const request = ExportLogsServiceRequest.encode({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(5000) } }] }] }],
  } as never).finish();
  const error = t.throws(() => splitRequest(request, 2000), { instanceOf: ExportTooLargeError });
  t.regex(error!.message, /one LogRecord takes 50\d\d bytes, more than the downstream's limit of 19\d\d/);
});

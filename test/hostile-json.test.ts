import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { httpSdkSender, post } from './helpers/otlp-http';

const wrap = (records: string): string => `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${records}]}]}]}`;

/** Bodies no receiver may acknowledge, each with what its 400 must say. */
const HOSTILE: [string, string | Buffer, RegExp][] = [
  ['broken member', '{"resourceLogs": [ {"oops" }', /expected ":"/],
  ['misspelt resourceLogs', '{"resourcelogs": [{"scopeLogs": [{"logRecords": [{}]}]}]}', /did you mean "resourceLogs"/],
  ['truncated', wrap('{"body":{"stringValue":"cut'), /truncated/],
  ['trailing garbage', wrap('{}') + '}{', /after its JSON object/],
  ['logRecords not a list', '{"resourceLogs":[{"scopeLogs":[{"logRecords":{"body":{}}}]}]}', /field "logRecords" must be an array/],
  ['100k levels deep', '{"future":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', /deeper than 128/],
  ['lone surrogate', wrap('{"body":{"stringValue":"\\ud83d"}}'), /lone surrogate/],
  ['huge integer', wrap('{"timeUnixNano":123456789012345678901234567890}'), /out of range/],
  ['huge double', wrap('{"body":{"doubleValue":1e999}}'), /range of a double/],
  ['invalid UTF-8', Buffer.concat([Buffer.from(wrap('{"body":{"stringValue":"').slice(0, -2)), Buffer.from([0xff]), Buffer.from('"}}]}]}]}')]), /UTF-8/],
];

/** About 6.6 million empty log records in a 19 MiB body: millions of objects if parsed naively. */
function poison(): Buffer {
  const count = Math.floor((19 * 1024 * 1024) / 3);
  const records = Buffer.alloc(count * 3 - 1, '{},');
  return Buffer.concat([Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":['), records, Buffer.from(']}]}]}')]);
}

test('hostile OTLP/JSON hears 400 with a reason before it is acknowledged; well-behaved clients lose nothing', async (t) => {
  const engine = await startEngine({ ingest: { otlp_http: { max_body_bytes: 20 * 1024 * 1024 } } });
  t.teardown(() => engine.cleanup());
  const sdk = httpSdkSender(engine.httpPort, 'json', { batchSize: 100 });
  for (let i = 0; i < 300; i++) sdk.emit(`before-${i}`);
  t.deepEqual(await sdk.flush(), { delivered: 300, failed: 0 });

  for (const [name, body, reason] of HOSTILE) {
    for (const gzip of [false, true]) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
      const answer = await post(engine.httpPort, '/v1/logs', headers, gzip ? gzipSync(body) : body);
      t.is(answer.status, 400, `${name}${gzip ? ' (gzip)' : ''}`);
      const status = JSON.parse(answer.body.toString()) as { code: number; message: string };
      t.is(status.code, 3, 'INVALID_ARGUMENT');
      t.regex(status.message, reason, name);
    }
  }

  const big = poison();
  for (const gzip of [false, true]) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
    const answer = await post(engine.httpPort, '/v1/logs', headers, gzip ? gzipSync(big) : big);
    t.is(answer.status, 400, `20 MiB of empty records${gzip ? ' (gzip)' : ''}`);
    t.regex(answer.body.toString(), /too large to decode: more than \d+ units/);
  }

  for (let i = 0; i < 300; i++) sdk.emit(`after-${i}`);
  t.deepEqual(await sdk.flush(), { delivered: 600, failed: 0 });
  await sdk.shutdown();
  t.is(await engine.stop(), 0);

  const ids = countIds(engine.outputPath);
  t.is(ids.size, 600);
  t.true([...ids.values()].every((n) => n === 1), 'every record once');
  const lines = readFileSync(engine.outputPath, 'utf8').trim().split('\n');
  t.true(
    lines.every((line) => line.includes('"test.id"')),
    'nothing but the SDK requests was written',
  );
  t.false(existsSync(join(engine.dir, 'dead-letter.jsonl')) && readFileSync(join(engine.dir, 'dead-letter.jsonl'), 'utf8') !== '', 'nothing was dead-lettered');
  t.false(
    engine.logs.some((l) => l.msg === 'child exited unexpectedly; restarting'),
    'no child died',
  );
});

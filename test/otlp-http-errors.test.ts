import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { ExportLogsServiceRequest, RetryInfo, Status } from '../src/common/otlp-proto';
import { countIds, countVaultIds } from './helpers/output';
import { startEngine, type Engine } from './helpers/engine';
import { post, type HttpAnswer } from './helpers/otlp-http';

const MAX_BODY = 16 * 1024;
const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

function body(ids: string[], padding = 0): Buffer {
  const message = ExportLogsServiceRequest.fromObject({
    resourceLogs: [{ scopeLogs: [{ logRecords: ids.map((id) => ({ body: { stringValue: `x${'p'.repeat(padding)}` }, attributes: [{ key: 'test.id', value: { stringValue: id } }] })) }] }],
  });
  return Buffer.from(ExportLogsServiceRequest.encode(message).finish());
}

function status(answer: HttpAnswer): { code: number; message: string; details: Array<{ type_url: string; value: Uint8Array }> } {
  return Status.decode(answer.body) as unknown as { code: number; message: string; details: Array<{ type_url: string; value: Uint8Array }> };
}

function peakRssKib(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

let engine: Engine;

test.before(async () => {
  engine = await startEngine({
    ingest: { workers: 1, max_message_bytes: MAX_BODY, max_inflight_bytes: 2 * MAX_BODY, otlp_http: { max_body_bytes: MAX_BODY } },
    rings: { green_bytes: 512 * 1024, red_bytes: 512 * 1024 },
  });
});
test.after.always(() => engine?.cleanup());

test.serial('404 for another path, 405 for another method, 415 for another content type or encoding; each with a google.rpc.Status', async (t) => {
  const notFound = await post(engine.httpPort, '/v1/traces', PROTO, body(['a']));
  t.is(notFound.status, 404);
  t.is(notFound.headers['content-type'], 'application/x-protobuf');
  t.regex(status(notFound).message, /\/v1\/logs/);

  const notAllowed = await post(engine.httpPort, '/v1/logs', JSON_TYPE, '', 'GET');
  t.is(notAllowed.status, 405);
  t.is(notAllowed.headers.allow, 'POST');
  t.is(notAllowed.headers['content-type'], 'application/json', 'answered in the request content type');
  t.is((JSON.parse(notAllowed.body.toString()) as { code: number }).code, 12);

  const textPlain = await post(engine.httpPort, '/v1/logs', { 'content-type': 'text/plain' }, 'hello');
  t.is(textPlain.status, 415);
  t.regex(status(textPlain).message, /application\/x-protobuf, application\/json/);

  const brotli = await post(engine.httpPort, '/v1/logs', { ...PROTO, 'content-encoding': 'br' }, body(['b']));
  t.is(brotli.status, 415);
});

test.serial('400 with a Status in the request encoding for malformed protobuf, JSON and gzip bodies', async (t) => {
  const truncated = body(['c']).subarray(0, 10);
  const proto = await post(engine.httpPort, '/v1/logs', PROTO, truncated);
  t.is(proto.status, 400);
  t.is(status(proto).code, 3);
  t.regex(status(proto).message, /truncated/);

  const garbage = await post(engine.httpPort, '/v1/logs', PROTO, Buffer.from([0x00, 0x01, 0x02]));
  t.is(garbage.status, 400);
  t.regex(status(garbage).message, /field number 0/);

  const json = await post(engine.httpPort, '/v1/logs', JSON_TYPE, 'this is not JSON');
  t.is(json.status, 400);
  t.is(json.headers['content-type'], 'application/json');
  t.like(JSON.parse(json.body.toString()), { code: 3 });

  const halfJson = await post(engine.httpPort, '/v1/logs', JSON_TYPE, '{"resourceLogs":[');
  t.is(halfJson.status, 400);

  const notGzip = await post(engine.httpPort, '/v1/logs', { ...PROTO, 'content-encoding': 'gzip' }, body(['d']));
  t.is(notGzip.status, 400);
  t.regex(status(notGzip).message, /gzip/);

  const cutGzip = gzipSync(body(['e'], 2000));
  const shortGzip = await post(engine.httpPort, '/v1/logs', { ...PROTO, 'content-encoding': 'gzip' }, cutGzip.subarray(0, cutGzip.length - 20));
  t.is(shortGzip.status, 400);

  const gzipOfGarbage = await post(engine.httpPort, '/v1/logs', { ...PROTO, 'content-encoding': 'gzip' }, gzipSync(Buffer.from([0x0f, 0x01])));
  t.is(gzipOfGarbage.status, 400);
});

test.serial('413 past max_body_bytes: declared, streamed, and inflated from a gzip bomb without inflating past the limit', async (t) => {
  const declared = await post(engine.httpPort, '/v1/logs', PROTO, body(['f'], MAX_BODY));
  t.is(declared.status, 413);
  t.regex(status(declared).message, /max_body_bytes/);

  const streamed = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: engine.httpPort, path: '/v1/logs', method: 'POST', headers: PROTO }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    // Chunked: no content-length to judge by; the limit holds on the bytes as they come.
    for (let i = 0; i < 8; i++) req.write(body([`g${i}`], 4000));
    req.end();
  });
  t.is(streamed, 413);

  // One ResourceLogs field whose 100 MiB of zeros compress to about 100 KiB.
  const bombSize = 100 * 1024 * 1024;
  const bomb = gzipSync(Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x32]), Buffer.alloc(bombSize)]));
  const pid = await engine.childPid('ingest-0');
  const before = peakRssKib(pid);
  const exploded = await post(engine.httpPort, '/v1/logs', { ...PROTO, 'content-encoding': 'gzip' }, bomb);
  t.is(exploded.status, 413);
  const grownMib = (peakRssKib(pid) - before) / 1024;
  t.true(grownMib < 48, `the worker's peak RSS grew by ${grownMib.toFixed(1)} MiB for a ${bombSize / 1024 / 1024} MiB bomb`);
});

test.serial('429 with Retry-After while the worker holds max_inflight_bytes of unfinished bodies', async (t) => {
  // Two uploads of almost a whole body each, left open: together they hold the budget.
  const open = [0, 1].map((i) => {
    const payload = body([`open-${i}`], MAX_BODY - 200);
    const req = request({ host: '127.0.0.1', port: engine.httpPort, path: '/v1/logs', method: 'POST', headers: { ...PROTO, 'content-length': payload.length } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
    });
    req.write(payload.subarray(0, payload.length - 1));
    return { finish: () => req.end(payload.subarray(payload.length - 1)), answered };
  });
  let refused: HttpAnswer | undefined;
  for (let attempt = 0; attempt < 1000 && refused === undefined; attempt++) {
    const answer = await post(engine.httpPort, '/v1/logs', PROTO, body([`probe-${attempt}`], 4000));
    if (answer.status === 429) refused = answer;
    else t.is(answer.status, 200);
  }
  t.truthy(refused, 'a request is refused once the two open uploads are held');
  t.is(refused!.headers['retry-after'], '1');
  const refusal = status(refused!);
  t.is(refusal.code, 14);
  t.is(refusal.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
  t.like(RetryInfo.decode(refusal.details[0].value).toJSON(), { retryDelay: { seconds: '1' } });
  for (const upload of open) upload.finish();
  t.deepEqual(await Promise.all(open.map((u) => u.answered)), [200, 200], 'the held uploads complete');
});

test.serial('503 with Retry-After when both rings are full; everything accepted is exported once the exporter runs again', async (t) => {
  const stopped = [await engine.childPid('export-0'), await engine.childPid('vault-0')];
  for (const pid of stopped) process.kill(pid, 'SIGSTOP');
  const accepted: string[] = [];
  const refused: { proto?: HttpAnswer; json?: HttpAnswer } = {};
  try {
    for (let i = 0; i < 2000 && refused.proto === undefined; i++) {
      const id = `full-${i}`;
      const answer = await post(engine.httpPort, '/v1/logs', PROTO, body([id], 12_000));
      if (answer.status === 200) accepted.push(id);
      else if (answer.status === 503) refused.proto = answer;
      else t.fail(`unexpected status ${answer.status}`);
    }
    const json = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(12_000) } }] }] }] });
    refused.json = await post(engine.httpPort, '/v1/logs', JSON_TYPE, json);
  } finally {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  }
  t.truthy(refused.proto, 'refused once green and red are full');
  t.is(refused.proto!.headers['retry-after'], '1');
  t.is(status(refused.proto!).code, 14);
  t.is(refused.json!.status, 503);
  t.is(refused.json!.headers['retry-after'], '1');
  t.like(JSON.parse(refused.json!.body.toString()), { code: 14, details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }] });

  t.is(await engine.stop(), 0);
  // Green holds what the exporter writes; the rest went red and waits in the vault for replay.
  const exported = countIds(engine.outputPath);
  const vaulted = countVaultIds(join(engine.dir, 'vault'));
  const wrong = accepted.filter((id) => (exported.get(id) ?? 0) + (vaulted.get(id) ?? 0) !== 1);
  t.deepEqual(wrong, [], 'every accepted request is exported or vaulted, once');
  t.true(vaulted.size > 0 && exported.size > 0);
});

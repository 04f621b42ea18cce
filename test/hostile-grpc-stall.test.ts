import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { EXPORT_LOGS_PATH } from '../src/ingest/otlp-grpc-server';
import { startEngine, type Engine } from './helpers/engine';
import { scrape, scrapeUntil, valueOf } from './helpers/metrics';
import { sdkSender } from './helpers/otel-sdk';
import { httpSdkSender, post } from './helpers/otlp-http';

const MiB = 1024 * 1024;
// The defaults' shape (the budget four maximum messages), a quarter of their size so that
// the uploads arrive well within the stall timeout on a busy machine.
const MAX_MESSAGE = 4 * MiB;
const MAX_INFLIGHT = 16 * MiB;
const STREAM_IDLE_MS = 3000;

/**
 * One stalled upload: a gRPC request that announces a MAX_MESSAGE message and sends all of it
 * but one byte (prefix included), then nothing. Resolves once the bytes are written.
 */
async function stallStream(session: ClientHttp2Session, upload: Buffer): Promise<Stalled> {
  const stalled = startUpload(session);
  await new Promise<void>((resolve, reject) => stalled.stream.write(upload, (err) => (err ? reject(err) : resolve())));
  return stalled;
}

interface Stalled {
  stream: ClientHttp2Stream;
  answer: Promise<IncomingHttpHeaders>;
}

function startUpload(session: ClientHttp2Session, upload?: Buffer): Stalled {
  const stream = session.request({ ':method': 'POST', ':path': EXPORT_LOGS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  // A refused upload is reset while it is still being written.
  stream.on('error', () => {});
  const answer = once(stream, 'response').then(([headers]) => headers as IncomingHttpHeaders);
  if (upload !== undefined) stream.write(upload, () => {});
  return { stream, answer };
}

function stalledUpload(wireBytes: number): Buffer {
  const upload = Buffer.alloc(wireBytes);
  upload.writeUInt8(0, 0);
  upload.writeUInt32BE(MAX_MESSAGE, 1);
  return upload;
}

const smallBody = (): Buffer => Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'probe' } }] }] }] })).finish());

function openFileSoftLimit(pid: number): number {
  return Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]);
}

async function engineWith(t: ExecutionContext, streamIdleMs: number): Promise<Engine> {
  const engine = await startEngine({ ingest: { workers: 1, max_message_bytes: MAX_MESSAGE, max_inflight_bytes: MAX_INFLIGHT, otlp_grpc: { stream_idle_timeout_ms: streamIdleMs }, otlp_http: { max_body_bytes: MAX_MESSAGE } } });
  t.teardown(() => engine.cleanup());
  return engine;
}

test.serial('four stalled streams on four connections fill the in-flight budget only until stream_idle_timeout_ms; then the SDK and an OTLP/HTTP client are served', async (t) => {
  const engine = await engineWith(t, STREAM_IDLE_MS);
  const sessions = Array.from({ length: 4 }, () => connect(`http://127.0.0.1:${engine.grpcPort}`));
  t.teardown(() => sessions.forEach((s) => s.destroy()));
  // Together one byte less than the whole budget.
  const perStream = (MAX_INFLIGHT - 1 - ((MAX_INFLIGHT - 1) % 4)) / 4;
  const upload = stalledUpload(perStream);
  const stalled = await Promise.all(sessions.map((s) => stallStream(s, upload)));
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_inflight_bytes') === 4 * perStream);

  // The attack works: while it stalls, nobody else gets bytes in.
  const blocked = await post(engine.httpPort, '/v1/logs', { 'content-type': 'application/x-protobuf' }, smallBody());
  t.is(blocked.status, 429, 'the budget is full while the streams stall');

  // The stall is cut by the server, not by the attacker, who stays connected; then the
  // budget is back for everybody.
  const answers = await Promise.all(stalled.map((s) => s.answer));
  t.true(sessions.every((s) => !s.destroyed && !s.closed), 'the stalled connections themselves stay open');
  const grpcClient = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  const httpClient = httpSdkSender(engine.httpPort, 'proto');
  for (let i = 0; i < 10; i++) {
    grpcClient.emit(`grpc-${i}`);
    httpClient.emit(`http-${i}`);
  }
  const [grpcResult, httpResult] = await Promise.all([grpcClient.flush(), httpClient.flush()]);
  await Promise.all([grpcClient.shutdown(), httpClient.shutdown()]);
  t.deepEqual(grpcResult, { delivered: 10, failed: 0 }, `the OpenTelemetry SDK (gRPC) is served; failures: ${JSON.stringify([...grpcClient.failuresByCode])}`);
  t.deepEqual(httpResult, { delivered: 10, failed: 0 }, 'the OpenTelemetry SDK (OTLP/HTTP) is served');
  for (const headers of answers) {
    t.is(headers['grpc-status'], '14', 'a stalled stream is answered UNAVAILABLE');
    t.regex(String(headers['grpc-message']), /stream_idle_timeout_ms/);
  }

  const s = await scrapeUntil(engine.metricsPort, (m) => valueOf(m, 'gophership_ingest_inflight_bytes') === 0);
  t.is(valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'stream_idle' }), 4);
});

test.serial('one connection holds at most half the budget: its third stalled stream is refused and other clients are served while it stalls; the default connection cap is below the open-file limit', async (t) => {
  // Longer than this test: the stall lasts until the attacker leaves.
  const engine = await engineWith(t, 600_000);
  const session = connect(`http://127.0.0.1:${engine.grpcPort}`);
  t.teardown(() => session.destroy());
  const upload = stalledUpload(MAX_MESSAGE - 1);
  const before = await scrape(engine.metricsPort);
  const overloadedBefore = valueOf(before, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'overloaded' }) ?? 0;
  await stallStream(session, upload);
  await stallStream(session, upload);
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_inflight_bytes') === 2 * (MAX_MESSAGE - 1));
  const refused = await startUpload(session, upload).answer;
  t.is(refused['grpc-status'], '14');
  t.regex(String(refused['grpc-message']), /max_inflight_bytes/);
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'overloaded' }) === overloadedBefore + 1);

  // The two held streams keep half the budget; the other half serves everybody else, now.
  const grpcClient = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  grpcClient.emit('during-stall');
  t.deepEqual(await grpcClient.flush(), { delivered: 1, failed: 0 });
  await grpcClient.shutdown();
  t.is((await post(engine.httpPort, '/v1/logs', { 'content-type': 'application/x-protobuf' }, smallBody())).status, 200);
  const s = await scrape(engine.metricsPort);
  t.is(valueOf(s, 'gophership_ingest_inflight_bytes'), 2 * (MAX_MESSAGE - 1), 'the stalled streams still hold their bytes');
  // The attacker leaving gives its share back.
  session.destroy();
  await scrapeUntil(engine.metricsPort, (m) => valueOf(m, 'gophership_ingest_inflight_bytes') === 0);

  // This engine has the default connection cap: all of a worker's listeners full stay below its open-file limit.
  const listening = await engine.waitForLog((l) => l.msg === 'ingest worker listening');
  const maxConnections = listening.maxConnections as number;
  const listeners = ['otlp_grpc', 'otlp_http', 'lines'].reduce((n, p) => n + (listening[p] as string[]).length, 0);
  const limit = openFileSoftLimit(await engine.childPid('ingest-0'));
  t.true(listeners * maxConnections < limit, `${listeners} listeners × ${maxConnections} connections against an open-file limit of ${limit}`);
});

test.serial('a stream that trickles a byte at a time, under the idle timeout, is still reset at stream_timeout_ms and its bytes given back', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1, otlp_grpc: { stream_idle_timeout_ms: 2000, stream_timeout_ms: 3000 } } });
  t.teardown(() => engine.cleanup());
  const session = connect(`http://127.0.0.1:${engine.grpcPort}`);
  t.teardown(() => session.destroy());
  // A message announced at 1 MiB, then one byte every 300 ms: the idle timer never fires.
  const { stream, answer } = startUpload(session, stalledUpload(5 + 1024));
  const trickle = setInterval(() => stream.write(Buffer.alloc(1)), 300);
  t.teardown(() => clearInterval(trickle));
  const started = performance.now();
  const headers = await answer;
  clearInterval(trickle);
  const tookMs = performance.now() - started;
  t.is(headers['grpc-status'], '14', 'UNAVAILABLE, which a client may retry');
  t.regex(String(headers['grpc-message']), /stream_timeout_ms/);
  t.true(tookMs >= 2500, `not before the bound (${Math.round(tookMs)} ms)`);
  const s = await scrapeUntil(engine.metricsPort, (m) => valueOf(m, 'gophership_ingest_inflight_bytes') === 0);
  t.is(valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'stream_idle' }), 1);
});

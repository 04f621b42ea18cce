import test from 'ava';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startEngine, type Engine } from './helpers/engine';
import { openLines, readLinesOutput } from './helpers/lines';
import { scrapeUntil, valueOf } from './helpers/metrics';

const IDLE_MS = 500;
const REQUEST_MS = 2000;
const TRICKLE_MS = 100;

let engine: Engine;

test.before(async () => {
  engine = await startEngine({
    ingest: { workers: 1, otlp_http: { idle_timeout_ms: IDLE_MS, request_timeout_ms: REQUEST_MS }, lines: { idle_timeout_ms: IDLE_MS } },
  });
});
test.after.always(() => engine?.cleanup());

/** Resolves with what the server sent before it closed the connection, and when it closed. */
async function closedByServer(socket: Socket): Promise<{ received: string; afterMs: number }> {
  const start = performance.now();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  await once(socket, 'close');
  return { received: Buffer.concat(chunks).toString(), afterMs: performance.now() - start };
}

/** Writes a byte every TRICKLE_MS (never silent for IDLE_MS) until the server closes; bounded. */
function trickle(socket: Socket, byte: string, limit: number): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || ++sent > limit) return clearInterval(timer);
    socket.write(byte);
  }, TRICKLE_MS);
  socket.once('close', () => clearInterval(timer));
}

test.serial('OTLP/HTTP: headers trickled a byte at a time get 408 within the idle timeout; a stalled body gets 408 and is counted; a trickled body is cut at the request timeout', async (t) => {
  const slowHeaders = connect(engine.httpPort, '127.0.0.1');
  await once(slowHeaders, 'connect');
  // Never silent for the idle timeout, so only the headers timeout can cut it.
  slowHeaders.write('POST /v1/logs HTTP/1.1\r\nHost: gophership\r\nX-Slow: ');
  trickle(slowHeaders, 'a', 100);

  const stalledBody = connect(engine.httpPort, '127.0.0.1');
  await once(stalledBody, 'connect');
  stalledBody.write('POST /v1/logs HTTP/1.1\r\nHost: gophership\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n0123456789');

  const trickledBody = connect(engine.httpPort, '127.0.0.1');
  await once(trickledBody, 'connect');
  trickledBody.write('POST /v1/logs HTTP/1.1\r\nHost: gophership\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  trickle(trickledBody, ' ', 999);

  const [headers, body, trickled] = await Promise.all([closedByServer(slowHeaders), closedByServer(stalledBody), closedByServer(trickledBody)]);
  t.regex(headers.received, /^HTTP\/1\.1 408/);
  t.true(headers.afterMs < 100 * TRICKLE_MS, `trickled headers were cut after ${headers.afterMs} ms`);
  t.regex(body.received, /^HTTP\/1\.1 408/);
  t.regex(body.received, /idle_timeout_ms/);
  t.true(trickled.afterMs >= REQUEST_MS * 0.9, `the trickled body was cut after ${trickled.afterMs} ms`);
  t.true(trickled.afterMs < 999 * TRICKLE_MS);
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_http', reason: 'body_idle' }) === 1);
});

test.serial('lines: a silent connection, one holding a partial line, and one trickling a line a byte at a time are all closed; the partial lines are kept', async (t) => {
  const silent = await openLines({ port: engine.linesPort });
  const partial = await openLines({ port: engine.linesPort });
  partial.write('held partial');
  const trickler = await openLines({ port: engine.linesPort });
  trickler.write('trickled ');
  // 100 bytes would take 10 s: far past the idle timeout, which must cut it first.
  trickle(trickler, 'x', 100);
  const [silentClosed, partialClosed, trickleClosed] = await Promise.all([closedByServer(silent), closedByServer(partial), closedByServer(trickler)]);
  t.true(silentClosed.afterMs >= IDLE_MS * 0.9, `silent closed after ${silentClosed.afterMs} ms`);
  t.true(partialClosed.afterMs >= IDLE_MS * 0.9);
  t.true(trickleClosed.afterMs < 100 * TRICKLE_MS, `the trickler was closed after ${trickleClosed.afterMs} ms, before it finished`);
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_lines_idle_closed_total') === 3);

  t.is(await engine.stop(), 0);
  const { bodies } = readLinesOutput(engine.outputPath);
  t.is(bodies.get('held partial'), 1, 'a partial line cut by the timeout is stored as a line');
  t.true([...bodies.keys()].some((b) => /^trickled x+$/.test(b)));
});

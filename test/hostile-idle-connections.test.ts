import test from 'ava';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { startEngine, type Engine } from './helpers/engine';
import { readLinesOutput, sendLines } from './helpers/lines';
import { scrape, valueOf } from './helpers/metrics';

const CAP = 100;
const BATCH = 100;

let engine: Engine;

test.before(async () => {
  // The idle timeouts far away: the connections here are idle on purpose and must stay.
  engine = await startEngine({ ingest: { workers: 1, max_connections: CAP, otlp_http: { idle_timeout_ms: 600_000 }, lines: { idle_timeout_ms: 600_000 } } });
});
test.after.always(() => engine?.cleanup());

/**
 * Opens `count` idle connections, BATCH at a time (the listen backlog is finite), and
 * resolves once all but `kept` of them were closed by the server; the kept ones are returned.
 */
async function flood(port: number, count: number, kept: number): Promise<Socket[]> {
  const open = new Set<Socket>();
  let closed = 0;
  let allClosed: () => void = () => {};
  const done = new Promise<void>((resolve) => (allClosed = resolve));
  for (let i = 0; i < count; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - i) }, () => {
      const socket = connect(port, '127.0.0.1');
      open.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => {
        open.delete(socket);
        if (++closed === count - kept) allClosed();
      });
      return once(socket, 'connect');
    });
    await Promise.all(batch);
  }
  await done;
  return [...open];
}

async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(sockets.map((socket) => {
    socket.destroy();
    return once(socket, 'close');
  }));
}

test.serial('2,000 idle lines connections: the cap is held, every one past it is closed, counted and logged once', async (t) => {
  const kept = await flood(engine.linesPort, 2000, CAP);
  t.is(kept.length, CAP);
  const s = await scrape(engine.metricsPort);
  t.is(valueOf(s, 'gophership_ingest_refused_connections_total', { protocol: 'lines' }), 2000 - CAP);
  const logged = engine.logs.filter((l) => l.msg === 'lines connection refused: the listener holds ingest.max_connections');
  t.is(logged.length, 1, 'one log line for the flood, not one per connection');
  t.is(logged[0].maxConnections, CAP);

  // Once the idle connections go, clients are served again.
  await closeAll(kept);
  await sendLines({ port: engine.linesPort }, ['after the flood\n']);
  t.is(await engine.stop(), 0);
  t.is(readLinesOutput(engine.outputPath).bodies.get('after the flood'), 1);
});

test.serial('the gRPC and OTLP/HTTP listeners are capped too', async (t) => {
  if (engine.process.exitCode !== null) engine = await engine.relaunch();
  for (const [protocol, port] of [['otlp_grpc', engine.grpcPort], ['otlp_http', engine.httpPort]] as const) {
    const kept = await flood(port, CAP + 50, CAP);
    t.is(kept.length, CAP, protocol);
    t.is(valueOf(await scrape(engine.metricsPort), 'gophership_ingest_refused_connections_total', { protocol }), 50, protocol);
    await closeAll(kept);
  }
});

import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { startEngine } from './helpers/engine';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

/** Established connections to `port` whose server side is held by `pid`, read from /proc. */
function establishedOn(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // The fd closed while we looked.
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [, local, , state] = cols;
    if (local.endsWith(`:${hexPort}`) && state === '01' && inodes.has(cols[9])) n++;
  }
  return n;
}

function call(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(EXPORT_PATH, identity, identity, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
  });
}

test('every ingest worker accepts connections on the one SO_REUSEPORT port', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const clients = Array.from({ length: 48 }, (_, i) => new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure(), { 'gophership.test.connection': i }));
  t.teardown(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map(call));
  const workers = await Promise.all([0, 1].map((i) => engine.childPid(`ingest-${i}`)));
  const perWorker = workers.map((pid) => establishedOn(pid, engine.grpcPort));
  t.log(`connections per worker: ${perWorker.join(', ')}`);
  t.is(perWorker[0] + perWorker[1], clients.length);
  t.true(perWorker.every((n) => n > 0), 'both workers accepted connections');
});

test('a SIGKILLed ingest worker is restarted while the other keeps the port open', async (t) => {
  // A slow restart leaves a window in which only the surviving worker holds the port.
  const engine = await startEngine({ supervisor: { restart_backoff_min_ms: 2000 } });
  t.teardown(() => engine.cleanup());
  const victim = await engine.childPid('ingest-0');
  process.kill(victim, 'SIGKILL');
  await engine.waitForLog((l) => l.msg === 'child exited unexpectedly; restarting' && l.childPid === victim);
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  await t.notThrowsAsync(call(client), 'the surviving worker serves at once');
  const back = await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'ingest-0' && l.childPid !== victim);
  t.is(back.restarts, 1);
});

import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { startEngine } from './helpers/engine';
import { get, scrape, scrapeUntil, valueOf } from './helpers/metrics';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

function request(tag: string, records: number, pad = 0): Buffer {
  const logRecords = Array.from({ length: records }, (_, i) => ({
    body: { stringValue: `metrics test ${'x'.repeat(pad)}` },
    attributes: [{ key: 'test.id', value: { stringValue: `${tag}-${i}` } }],
  }));
  return Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] })).finish());
}

function send(client: grpc.Client, body: Buffer): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => client.makeUnaryRequest(EXPORT_PATH, identity, identity, body, resolve));
}

function connect(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

test('one scrape covers every process: requests and bytes in, green routing, records exported, children, rings, process metrics', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const client = connect(engine.grpcPort);
  t.teardown(() => client.close());

  let bytes = 0;
  for (let i = 0; i < 10; i++) {
    const body = request(`m${i}`, 5);
    bytes += body.length;
    t.is(await send(client, body), null);
  }
  const s = await scrapeUntil(engine.metricsPort, (x) => valueOf(x, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }) === 50);
  t.is(valueOf(s, 'gophership_ingest_accepted_requests_total', { protocol: 'otlp_grpc' }), 10, 'summed over both workers');
  t.is(valueOf(s, 'gophership_ingest_accepted_bytes_total', { protocol: 'otlp_grpc' }), bytes);
  t.is(valueOf(s, 'gophership_ingest_routed_requests_total', { ring: 'green' }), 10);
  t.is(valueOf(s, 'gophership_ingest_routed_requests_total', { ring: 'red' }), 0);
  t.is(valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'ring_full' }), 0);
  t.true((valueOf(s, 'gophership_export_latency_seconds_count', { exporter: 'file[0]' }) ?? 0) >= 1, 'export batches are timed');
  t.is(valueOf(s, 'gophership_export_failed_log_records_total', { exporter: 'file[0]' }), 0);
  for (const child of ['ingest-0', 'ingest-1', 'export-0', 'vault-0']) {
    t.is(valueOf(s, 'gophership_child_up', { process: child }), 1, `${child} is up`);
    t.is(valueOf(s, 'gophership_child_restarts_total', { process: child }), 0);
  }
  for (const proc of ['supervisor', 'ingest-0', 'ingest-1', 'export-0', 'vault-0']) {
    t.true((valueOf(s, 'process_resident_memory_bytes', { process: proc }) ?? 0) > 0, `RSS of ${proc}`);
    t.true((valueOf(s, 'nodejs_heap_size_used_bytes', { process: proc }) ?? 0) > 0, `heap of ${proc}`);
    t.not(valueOf(s, 'nodejs_eventloop_lag_p99_seconds', { process: proc }), undefined, `event-loop lag of ${proc}`);
  }
  t.is(valueOf(s, 'gophership_ring_capacity_bytes', { ring: 'green-0' }), 64 * 1024 * 1024);
  t.is(valueOf(s, 'gophership_ring_used_bytes', { ring: 'green-0' }), 0, 'exported records are committed');
  t.is(valueOf(s, 'gophership_vault_requests'), 0);
  t.is(s.types.get('gophership_export_latency_seconds'), 'histogram');
  t.is(s.types.get('gophership_ingest_accepted_requests_total'), 'counter');
});

test('health, readiness and what else the endpoint answers', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());
  const port = engine.metricsPort;
  t.deepEqual(await get(port, '/healthz'), { status: 200, body: 'ok\n', contentType: 'text/plain; charset=utf-8' });
  t.deepEqual(await get(port, '/readyz'), { status: 200, body: 'ready\n', contentType: 'text/plain; charset=utf-8' }, 'ready as soon as the engine says so');
  t.is((await get(port, '/metrics', 'HEAD')).status, 200);
  t.regex((await get(port, '/metrics')).contentType, /^text\/plain; version=0\.0\.4/);
  t.is((await get(port, '/nowhere')).status, 404);
  t.is((await get(port, '/metrics', 'POST')).status, 405);

  // During the shutdown the endpoint stays up until the children are gone: not ready, still alive.
  const exporter = await engine.childPid('export-0');
  process.kill(exporter, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(exporter, 'SIGCONT');
    } catch {
      // gone already
    }
  });
  engine.process.kill('SIGTERM');
  await engine.waitForLog((l) => l.msg === 'stopping: exporters and the vault empty the rings');
  const readyz = await get(port, '/readyz');
  t.is(readyz.status, 503);
  t.is(readyz.body, 'not ready\nshutting down\n');
  t.is((await get(port, '/healthz')).status, 200, 'alive while draining');
  process.kill(exporter, 'SIGCONT');
  t.is(await engine.stop(), 0);
});

test('a child that does not answer is left out and counted; a worker refusing for lack of room is not ready until the window passes', async (t) => {
  const engine = await startEngine({
    ingest: { workers: 1, max_message_bytes: 16 * 1024 },
    // The smallest rings the lines receiver allows (a pending line plus a socket read, twice).
    rings: { green_bytes: 512 * 1024, red_bytes: 512 * 1024 },
    metrics: { child_timeout_ms: 200, refusing_window_ms: 1000 },
  });
  t.teardown(() => engine.cleanup());
  const port = engine.metricsPort;
  const stopped = [await engine.childPid('export-0'), await engine.childPid('vault-0')];
  for (const pid of stopped) process.kill(pid, 'SIGSTOP');
  const resume = (): void => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
  };
  t.teardown(resume);

  const client = connect(engine.grpcPort);
  t.teardown(() => client.close());
  let refused: grpc.ServiceError | null = null;
  // About 10 KiB a request: both 512 KiB rings are full after a hundred.
  for (let i = 0; i < 400 && refused === null; i++) refused = await send(client, request(`r${i}`, 10, 1000));
  t.is(refused?.code, grpc.status.UNAVAILABLE, 'refused once both rings were full');

  const started = Date.now();
  const s = await scrape(port);
  t.true(Date.now() - started < 5000, 'the scrape does not wait for stopped children');
  t.is(valueOf(s, 'gophership_metrics_child_timeouts_total', { process: 'export-0' }), 1);
  t.is(valueOf(s, 'gophership_metrics_child_timeouts_total', { process: 'vault-0' }), 1);
  t.is(valueOf(s, 'process_resident_memory_bytes', { process: 'export-0' }), undefined, 'its gauges are left out');
  t.is(valueOf(s, 'gophership_ingest_refused_requests_total', { protocol: 'otlp_grpc', reason: 'ring_full' }), 1);
  t.true((valueOf(s, 'gophership_ingest_routed_requests_total', { ring: 'red' }) ?? 0) > 0, 'a full green ring sent requests red');
  t.true((valueOf(s, 'gophership_ring_used_bytes', { ring: 'green-0' }) ?? 0) > 32 * 1024, 'the green ring is full');
  t.true((valueOf(s, 'gophership_ring_used_bytes', { ring: 'red-0' }) ?? 0) > 32 * 1024, 'the red ring is full');
  t.is(valueOf(s, 'gophership_ingest_refusing'), 1);

  const readyz = await get(port, '/readyz');
  t.is(readyz.status, 503);
  t.regex(readyz.body, /ingest-0: refused requests for lack of room within the last 1000 ms/);

  resume();
  // Ready again once nothing was refused for a whole window (checked each second).
  const deadline = Date.now() + 15_000;
  let status = readyz.status;
  while (status !== 200 && Date.now() < deadline) {
    await sleep(200);
    status = (await get(port, '/readyz')).status;
  }
  t.is(status, 200);
});

test('counters add up across a child restart', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());
  const client = connect(engine.grpcPort);
  t.teardown(() => client.close());
  for (let i = 0; i < 4; i++) t.is(await send(client, request(`k${i}`, 5)), null);
  await scrapeUntil(engine.metricsPort, (x) => valueOf(x, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }) === 20);

  process.kill(await engine.childPid('export-0'), 'SIGKILL');
  await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'export-0' && l.restarts === 1);
  const together = await Promise.all([scrape(engine.metricsPort), scrape(engine.metricsPort)]);
  t.deepEqual(together.map((x) => valueOf(x, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' })), [20, 20], 'concurrent scrapes count the dead exporter once');
  for (let i = 4; i < 6; i++) t.is(await send(client, request(`k${i}`, 5)), null);
  const s = await scrapeUntil(engine.metricsPort, (x) => (valueOf(x, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }) ?? 0) >= 30);
  t.is(valueOf(s, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }), 30, 'the dead exporter\'s 20 plus its successor\'s 10');
  t.is(valueOf(s, 'gophership_child_restarts_total', { role: 'export', process: 'export-0' }), 1);
  t.is(valueOf(s, 'gophership_child_up', { process: 'export-0' }), 1);
});

test('metrics.enabled: false serves nothing', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 }, metrics: { enabled: false } });
  t.teardown(() => engine.cleanup());
  const err = await get(engine.metricsPort, '/healthz').then(() => null, (e: unknown) => e as { code?: string });
  t.is(err?.code, 'ECONNREFUSED');
});

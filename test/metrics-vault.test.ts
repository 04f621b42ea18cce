import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { listSegments } from '../src/vault/vault-dir';
import { startEngine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { scrapeUntil, valueOf } from './helpers/metrics';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

function request(tag: string): Buffer {
  const logRecords = Array.from({ length: 3 }, (_, i) => ({ body: { stringValue: 'vault metrics' }, attributes: [{ key: 'test.id', value: { stringValue: `${tag}-${i}` } }] }));
  return Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] })).finish());
}

test('vault metrics: requests written and held, recovery findings after a torn tail, replay progress', async (t) => {
  const first = await startEngine({ ingest: { workers: 1 }, zones: { force: 'red' } });
  t.teardown(() => first.cleanup());
  const client = new grpc.Client(`127.0.0.1:${first.grpcPort}`, grpc.credentials.createInsecure());
  for (let i = 0; i < 5; i++) {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(EXPORT_PATH, identity, identity, request(`v${i}`), resolve));
    t.is(err, null);
  }
  client.close();
  const s = await scrapeUntil(first.metricsPort, (x) => valueOf(x, 'gophership_vault_written_requests_total') === 5);
  t.is(valueOf(s, 'gophership_ingest_routed_requests_total', { ring: 'red' }), 5);
  t.is(valueOf(s, 'gophership_vault_requests'), 5);
  t.is(valueOf(s, 'gophership_vault_segments'), 1);
  t.true((valueOf(s, 'gophership_vault_size_bytes') ?? 0) > 0);
  t.is(await first.stop(), 0);

  // Garbage after the last record is what a write torn by a crash leaves.
  const vaultDir = join(first.dir, 'vault');
  appendFileSync(listSegments(vaultDir)[0].path, Buffer.alloc(100, 0xab));
  // Out of the forced Red, so that a replay may run; by hand, to see the metrics before it.
  const second = await first.relaunch({ zones: { force: 'auto' }, vault: { auto_replay: false } });
  t.teardown(() => second.cleanup());
  await second.waitForLog((l) => l.msg === 'child ready' && l.child === 'vault-0');
  const recovered = await scrapeUntil(second.metricsPort, (x) => valueOf(x, 'gophership_vault_requests') !== undefined);
  t.true((valueOf(recovered, 'gophership_vault_recovery_truncated_bytes_total') ?? 0) >= 100, 'the torn tail was cut off and counted');
  t.is(valueOf(recovered, 'gophership_vault_recovery_corrupt_requests_total'), 0);
  t.is(valueOf(recovered, 'gophership_vault_requests'), 5, 'every whole record is kept');

  const replay = await gsCtl('replay', '--online', '--config', second.configPath);
  t.is(replay.code, 0, replay.stderr);
  await second.waitForLog((l) => l.msg === 'replay done');
  const replayed = await scrapeUntil(second.metricsPort, (x) => valueOf(x, 'gophership_replay_requests_total') === 5);
  t.is(valueOf(replayed, 'gophership_replay_active'), 0);
  t.is(valueOf(replayed, 'gophership_replay_segments_remaining'), 0);
  t.is(valueOf(replayed, 'gophership_vault_requests'), 0);
  t.true((valueOf(replayed, 'gophership_replay_bytes_total') ?? 0) > 0);
  t.is(valueOf(replayed, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }), 15, 'replayed requests are decoded and counted by the exporter');
  t.is(valueOf(replayed, 'gophership_export_received_log_records_total', { path: 'replay' }), 15, 'their log records came in by the replay path');
  t.is(valueOf(replayed, 'gophership_export_received_log_records_total', { path: 'green' }), 0);
});

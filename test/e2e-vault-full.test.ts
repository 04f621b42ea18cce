import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { ExportLogsServiceRequest, RetryInfo, Status } from '../src/common/otlp-proto';
import { listSegments } from '../src/vault/vault-dir';
import { countRingIds, countVaultIds } from './helpers/output';
import { startEngine } from './helpers/engine';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;
const MiB = 1024 * 1024;
const RECORDS_PER_REQUEST = 100;

function request(batch: number): Buffer {
  const logRecords = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => ({
    body: { stringValue: `full vault test ${'x'.repeat(100)}` },
    attributes: [{ key: 'test.id', value: { stringValue: `full-${batch}-${i}` } }],
  }));
  return Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] })).finish());
}

test('a full vault means backpressure: retryable refusals with RetryInfo, nothing acknowledged lost, nothing deleted', async (t) => {
  const engine = await startEngine({
    zones: { force: 'red' },
    ingest: { max_message_bytes: 256 * 1024 },
    rings: { green_bytes: MiB, red_bytes: MiB },
    vault: { max_bytes: 16 * MiB, segment_bytes: MiB },
  });
  t.teardown(() => engine.cleanup());
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());

  const acked: number[] = [];
  const refusals: grpc.ServiceError[] = [];
  // About 14 KiB a request: 2,000 requests are 28 MiB, well past 16 MiB of vault and 2 MiB of rings.
  for (let batch = 0; batch < 2000; batch++) {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(EXPORT_PATH, identity, identity, request(batch), resolve));
    if (err === null) acked.push(batch);
    else refusals.push(err);
  }
  t.true(refusals.length > 0, 'the engine refused once the vault and the red rings were full');
  t.true(refusals.every((e) => e.code === grpc.status.UNAVAILABLE), 'every refusal is UNAVAILABLE');
  const details = Status.decode(refusals[0].metadata.get('grpc-status-details-bin')[0] as Buffer) as unknown as { details: Array<{ type_url: string; value: Uint8Array }> };
  t.is(details.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
  t.truthy(RetryInfo.decode(details.details[0].value));
  await engine.waitForLog((l) => (l.err as { code?: string } | undefined)?.code === 'GS_VAULT_FULL');

  t.is(await engine.stop(), 0, 'a full vault does not hold up the shutdown');
  const vaultDir = join(engine.dir, 'vault');
  const bytes = listSegments(vaultDir).reduce((sum, s) => sum + s.bytes, 0);
  t.true(bytes <= 16 * MiB, `the vault stays within vault.max_bytes (${bytes} bytes)`);
  // Acknowledged requests are in the vault, or still wait in a red ring for space.
  const stored = new Set([...countVaultIds(vaultDir).keys(), ...countRingIds(engine.ringDir, 'red').keys()]);
  const missing = acked.filter((batch) => !stored.has(`full-${batch}-0`));
  t.log(`${acked.length} requests acknowledged, ${refusals.length} refused, vault ${bytes} bytes`);
  t.deepEqual(missing, [], 'every acknowledged request is in the vault or in a red ring');
});

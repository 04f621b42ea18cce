import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { countVaultIds } from './helpers/output';
import { startEngine, type Engine } from './helpers/engine';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

function request(id: string): Buffer {
  const message = ExportLogsServiceRequest.fromObject({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: id }, attributes: [{ key: 'test.id', value: { stringValue: id } }] }] }] }],
  });
  return Buffer.from(ExportLogsServiceRequest.encode(message).finish());
}

function exportWithin(engine: Engine, id: string, deadlineMs: number): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, identity, identity, request(id), { deadline: Date.now() + deadlineMs }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

for (const sync of ['always', 'interval'] as const) {
  test(`vault.sync ${sync}: with the vault stopped, a Red request is ${sync === 'always' ? 'not answered until it is on disk' : 'answered once it is in the red ring'}`, async (t) => {
    const engine = await startEngine({ zones: { force: 'red' }, vault: { sync } });
    t.teardown(() => engine.cleanup());
    const vault = await engine.childPid('vault-0');
    process.kill(vault, 'SIGSTOP');
    const whileStopped = await exportWithin(engine, `${sync}-stopped`, 1500);
    if (sync === 'always') t.is(whileStopped?.code, grpc.status.DEADLINE_EXCEEDED, 'no OK before the vault wrote and synced it');
    else t.is(whileStopped, null, 'OK as soon as the bytes are in the red ring');
    process.kill(vault, 'SIGCONT');
    t.is(await exportWithin(engine, `${sync}-running`, 10_000), null);
    t.is(await engine.stop(), 0);
    const stored = countVaultIds(join(engine.dir, 'vault'));
    t.is(stored.get(`${sync}-running`), 1);
    t.is(stored.get(`${sync}-stopped`), 1, 'the request that timed out was still stored (at least once)');
  });
}

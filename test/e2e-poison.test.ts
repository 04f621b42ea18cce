import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

test('a request that cannot be decoded goes to the dead-letter file and stalls nothing', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  // Field 1 (resource_logs), length-delimited, claiming 100 bytes that are not there.
  const poison = Buffer.from([0x0a, 0x64, 0x01, 0x02]);
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(EXPORT_PATH, identity, identity, poison, (err) => (err ? reject(err) : resolve()));
  });
  client.close();

  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'after', 1000), { delivered: 1000, failed: 0 });
  const warned = await engine.waitForLog((l) => l.msg === 'poison request moved to the dead-letter file');
  t.is(warned.deadLettered, 1);
  t.is(await engine.stop(), 0);

  const lines = readFileSync(join(engine.dir, 'dead-letter.jsonl'), 'utf8').trim().split('\n');
  t.is(lines.length, 1);
  const entry = JSON.parse(lines[0]) as { reason: string; code: string; payload_base64: string };
  t.is(entry.reason, 'undecodable');
  t.is(entry.code, 'GS_POISON_RECORD');
  t.deepEqual(Buffer.from(entry.payload_base64, 'base64'), poison);
  t.is(countIds(engine.outputPath).size, 1000, 'records after the poison are all exported');
  t.false(engine.logs.some((l) => l.msg === 'child exited unexpectedly; restarting'), 'no child died over it');
});

import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (b: Buffer): Buffer => b;

function request(ids: string[]): Buffer {
  const message = ExportLogsServiceRequest.fromObject({
    resourceLogs: [{ scopeLogs: [{ logRecords: ids.map((id) => ({ body: { stringValue: `gzip ${id}` }, attributes: [{ key: 'test.id', value: { stringValue: id } }] })) }] }],
  });
  return Buffer.from(ExportLogsServiceRequest.encode(message).finish());
}

test('gzip-compressed requests are accepted and exported inflated', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  // grpc-js compresses every message of a channel set to gzip (algorithm 2).
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  t.teardown(() => client.close());
  for (let batch = 0; batch < 10; batch++) {
    const ids = Array.from({ length: 100 }, (_, i) => `gz-${batch}-${i}`);
    await new Promise<void>((resolve, reject) => {
      client.makeUnaryRequest(EXPORT_PATH, identity, identity, request(ids), (err) => (err ? reject(err) : resolve()));
    });
  }
  t.is(await engine.stop(), 0);
  const counts = countIds(engine.outputPath);
  t.is(counts.size, 1000);
  t.true([...counts.values()].every((n) => n === 1));
});

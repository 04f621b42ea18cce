import test from 'ava';
import { Metadata } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportLogsServiceResponse } from '../src/common/otlp-proto';
import { encodeRetryableStatus } from '../src/common/rpc-status';
import { grpcDownstream, idsOf } from './helpers/downstream';
import { startEngine } from './helpers/engine';
import { sdkSender, sendRecords } from './helpers/otel-sdk';

const OK = { response: Buffer.from(ExportLogsServiceResponse.encode({}).finish()) };
const UNAVAILABLE = 14;
const RESOURCE_EXHAUSTED = 8;

function exporter(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'otlp_grpc', endpoint: `127.0.0.1:${port}`, retry: { initial_ms: 20, max_ms: 100 }, batch: { delay_ms: 0 }, ...extra };
}

test('UNAVAILABLE with a RetryInfo of 1.5 s is retried after 1.5 s; RESOURCE_EXHAUSTED without one is dead-lettered', async (t) => {
  const downstream = await grpcDownstream((i) => {
    if (i === 0) {
      const metadata = new Metadata();
      metadata.set('grpc-status-details-bin', encodeRetryableStatus(UNAVAILABLE, 'busy', 1500));
      return { error: { code: UNAVAILABLE, details: 'busy', metadata } };
    }
    if (i === 2) return { error: { code: RESOURCE_EXHAUSTED, details: 'message too large' } };
    return OK;
  });
  t.teardown(() => downstream.close());
  const engine = await startEngine({ exporters: [exporter(downstream.port)] });
  t.teardown(() => engine.cleanup());

  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  for (let i = 0; i < 50; i++) sender.emit(`a-${i}`);
  t.deepEqual(await sender.flush(), { delivered: 50, failed: 0 });
  const [refused, accepted] = await downstream.arrived(2);
  const waited = accepted.atMs - refused.atMs;
  t.true(waited >= 1450 && waited < 3500, `the retry came ${waited} ms after UNAVAILABLE`);
  t.deepEqual(idsOf([accepted]), idsOf([refused]));

  for (let i = 0; i < 50; i++) sender.emit(`b-${i}`);
  t.deepEqual(await sender.flush(), { delivered: 100, failed: 0 });
  await sender.shutdown();
  await downstream.arrived(3);
  t.is(await engine.stop(), 0);
  t.is(downstream.arrivals.length, 3, 'RESOURCE_EXHAUSTED without RetryInfo is not retried');
  const [line] = readFileSync(join(engine.dir, 'dead-letter.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.like(line, { reason: 'rejected', code: 'GS_EXPORT_REJECTED', message: 'gRPC RESOURCE_EXHAUSTED: message too large' });
  t.deepEqual(idsOf([downstream.arrivals[2]]).sort(), Array.from({ length: 50 }, (_, i) => `b-${i}`).sort());
});

test('requests are merged up to batch.max_bytes and cut below max_message_bytes, losing and repeating nothing', async (t) => {
  const downstream = await grpcDownstream(() => OK);
  t.teardown(() => downstream.close());
  const limit = 16 * 1024;
  const engine = await startEngine({ exporters: [exporter(downstream.port, { max_message_bytes: limit, batch: { delay_ms: 100, max_bytes: 12 * 1024 } })] });
  t.teardown(() => engine.cleanup());

  const total = 5000;
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'm', total, { batchSize: 500 }), { delivered: total, failed: 0 });
  t.is(await engine.stop(), 0);
  for (const arrival of downstream.arrivals) t.true(arrival.raw.length <= limit, `a request of ${arrival.raw.length} bytes`);
  const ids = idsOf(downstream.arrivals);
  t.is(ids.length, total);
  t.is(new Set(ids).size, total);
  t.true(downstream.arrivals.length > total / 500, 'the 500-record client requests were cut');
});

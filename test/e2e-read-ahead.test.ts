import test from 'ava';
import { ExportLogsServiceResponse } from '../src/common/otlp-proto';
import { grpcDownstream, idsOf, type GrpcAnswer } from './helpers/downstream';
import { startEngine } from './helpers/engine';
import { sdkSender } from './helpers/otel-sdk';

const OK: GrpcAnswer = { response: Buffer.from(ExportLogsServiceResponse.encode({}).finish()) };
const UNAVAILABLE = 14;

test('with read-ahead a second ring batch goes out while the first is unanswered; across an exporter SIGKILL the downstream acknowledges every SDK record exactly once', async (t) => {
  // The first calls are held unanswered until the test lets them go; later ones are answered at once.
  const held: Array<(answer: GrpcAnswer) => void> = [];
  let holding = true;
  const acknowledged = new Set<number>();
  const downstream = await grpcDownstream((i) => {
    if (holding) return new Promise<GrpcAnswer>((resolve) => held.push(resolve));
    acknowledged.add(i);
    return OK;
  });
  t.teardown(() => downstream.close());
  // One ring, one request in flight per ring batch: two calls out at once can only be two ring batches.
  const engine = await startEngine({
    ingest: { workers: 1 },
    exporters: [{ type: 'otlp_grpc', endpoint: `127.0.0.1:${downstream.port}`, connections: 1, max_in_flight: 1, timeout_ms: 120_000, batch: { delay_ms: 0 }, retry: { initial_ms: 20, max_ms: 200 } }],
  });
  t.teardown(() => engine.cleanup());
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`, 100);
  let emitted = 0;
  const emit = (n: number): void => {
    for (const end = emitted + n; emitted < end; emitted++) sender.emit(`r-${emitted}`);
  };

  emit(1000);
  await sender.flush();
  await downstream.arrived(1);
  emit(1000);
  await sender.flush();
  await downstream.arrived(2);
  t.is(held.length, 2);
  const [first, second] = downstream.arrivals.map((a) => idsOf([a]));
  t.false(second.some((id) => first.includes(id)), 'the second call is the next ring batch, sent while the first was unanswered (not a retry)');

  // Neither batch is acknowledged: the exporter dies with both in flight.
  const killedPid = await engine.childPid('export-0');
  holding = false;
  process.kill(killedPid, 'SIGKILL');
  await engine.waitForLog((l) => l.msg === 'child exited unexpectedly; restarting' && l.childPid === killedPid);
  for (const answer of held) answer({ error: { code: UNAVAILABLE, details: 'the caller is gone' } });
  await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'export-0' && l.childPid !== killedPid);

  emit(8000);
  t.deepEqual(await sender.flush(), { delivered: emitted, failed: 0 });
  await sender.shutdown();
  // A stop drains the ring to the downstream before the exporter exits.
  t.is(await engine.stop(), 0);

  const ids = idsOf(downstream.arrivals.filter((_, i) => acknowledged.has(i)));
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const wrong: string[] = [];
  for (let i = 0; i < emitted; i++) if (counts.get(`r-${i}`) !== 1) wrong.push(`r-${i}: ${counts.get(`r-${i}`) ?? 0}`);
  t.deepEqual(wrong.slice(0, 10), [], 'every record acknowledged by the downstream once');
  t.is(ids.length, emitted);
});

import test from 'ava';
import { join } from 'node:path';
import { countIds, countVaultIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { sdkSender } from './helpers/otel-sdk';

test('gs-ctl replay --online: the running engine replays its vault through its exporters, each record once', async (t) => {
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024 } });
  t.teardown(() => engine.cleanup());
  const total = 20_000;
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  for (let i = 0; i < total; i++) sender.emit(`on-${i}`);
  t.deepEqual(await sender.flush(), { delivered: total, failed: 0 });
  await sender.shutdown();

  const request = await gsCtl('replay', '--config', engine.configPath, '--online');
  t.is(request.code, 0, request.stderr);
  const done = await engine.waitForLog((l) => l.msg === 'replay done');
  t.true((done.records as number) > 0, 'vault records (one per request) were replayed');
  const out = countIds(engine.outputPath);
  const wrong = [];
  for (let i = 0; i < total; i++) if (out.get(`on-${i}`) !== 1) wrong.push(i);
  t.deepEqual(wrong.slice(0, 10), [], 'every vaulted record is exported exactly once while the engine runs');
  t.is(countVaultIds(join(engine.dir, 'vault')).size, 0, 'replayed segments are deleted');
  t.is(await engine.stop(), 0);
});

test('gs-ctl replay --online with no engine running says so and exits 1', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  t.is(await engine.stop(), 0);
  const run = await gsCtl('replay', '--config', engine.configPath, '--online');
  t.is(run.code, 1);
  t.regex(run.stderr, /no running engine to ask/);
});

import test from 'ava';
import { join } from 'node:path';
import { countIds, countVaultIds } from './helpers/output';
import { startEngine, type Engine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { sdkSender } from './helpers/otel-sdk';

const VAULTED = 20_000;

/** Runs an engine pinned Red, fills its vault, and stops it: the next engine finds the records there. */
async function engineWithFullVault(extra: Record<string, unknown> = {}): Promise<Engine> {
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024, ...extra } });
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  for (let i = 0; i < VAULTED; i++) sender.emit(`on-${i}`);
  const sent = await sender.flush();
  await sender.shutdown();
  if (sent.failed !== 0 || (await engine.stop()) !== 0) throw new Error(`filling the vault failed: ${JSON.stringify(sent)}`);
  return engine;
}

function exportedOnce(engine: Engine): number[] {
  const out = countIds(engine.outputPath);
  const wrong = [];
  for (let i = 0; i < VAULTED; i++) if (out.get(`on-${i}`) !== 1) wrong.push(i);
  return wrong.slice(0, 10);
}

test('a Green engine replays its vault by itself (vault.auto_replay), each record exported once', async (t) => {
  const red = await engineWithFullVault();
  t.teardown(() => red.cleanup());
  t.true(countVaultIds(join(red.dir, 'vault')).size > 0, 'the Red run vaulted the records');

  const engine = await red.relaunch({ zones: { force: 'auto' } });
  t.teardown(() => engine.cleanup());
  const done = await engine.waitForLog((l) => l.msg === 'replay done');
  t.true((done.records as number) > 0, 'vault records (one per request) were replayed');
  t.truthy(engine.logs.find((l) => l.msg === 'replay starting' && l.reason === 'auto'));
  t.deepEqual(exportedOnce(engine), [], 'every vaulted record is exported exactly once while the engine runs');
  t.is(countVaultIds(join(engine.dir, 'vault')).size, 0, 'replayed segments are deleted');
  t.is(await engine.stop(), 0);
});

test('gs-ctl replay --online: with auto_replay off, the running engine replays when asked', async (t) => {
  const red = await engineWithFullVault({ auto_replay: false });
  t.teardown(() => red.cleanup());
  const engine = await red.relaunch({ zones: { force: 'auto' } });
  t.teardown(() => engine.cleanup());
  t.falsy(engine.logs.find((l) => l.msg === 'replay starting'), 'nothing replays by itself');

  const request = await gsCtl('replay', '--config', engine.configPath, '--online');
  t.is(request.code, 0, request.stderr);
  const done = await engine.waitForLog((l) => l.msg === 'replay done');
  t.true((done.records as number) > 0);
  t.deepEqual(exportedOnce(engine), []);
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

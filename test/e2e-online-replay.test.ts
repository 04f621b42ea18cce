import test from 'ava';
import { join } from 'node:path';
import type { EngineStatusMessage } from '../src/common/control-proto';
import { countIds, countVaultIds } from './helpers/output';
import { startEngine, type Engine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { sendRecords } from './helpers/otel-sdk';

/** Each exported batch (of batchSize records) is one request, so one vault record. */
async function vaultSome(engine: Engine, prefix: string, total: number, batchSize?: number): Promise<void> {
  const sent = await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, prefix, total, { batchSize });
  if (sent.delivered !== total) throw new Error(`only ${sent.delivered} of ${total} delivered`);
}

/** Out of the forced Red the vault was filled in: replay runs only when the zone allows it. */
async function zoneAuto(engine: Engine): Promise<void> {
  const run = await gsCtl('zone', 'auto', '--config', engine.configPath);
  if (run.code !== 0) throw new Error(run.stderr);
}

async function status(engine: Engine): Promise<EngineStatusMessage> {
  const run = await gsCtl('status', '--config', engine.configPath, '--json');
  if (run.code !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as EngineStatusMessage;
}

test('gs-ctl replay --online: the running engine replays its vault through its exporters, each record once, and gs-ctl follows it to the end', async (t) => {
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024, auto_replay: false } });
  t.teardown(() => engine.cleanup());
  const total = 20_000;
  await vaultSome(engine, 'on', total);
  await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'vault-0');
  await zoneAuto(engine);

  const run = await gsCtl('replay', '--online', '--config', engine.configPath, '--json');
  t.is(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { done: boolean; state: string; records: number };
  t.true(summary.done);
  t.true(summary.records > 0, 'vault records (one per request) were replayed');
  const out = countIds(engine.outputPath);
  const wrong = [];
  for (let i = 0; i < total; i++) if (out.get(`on-${i}`) !== 1) wrong.push(i);
  t.deepEqual(wrong.slice(0, 10), [], 'every vaulted record is exported exactly once while the engine runs');
  t.is(countVaultIds(join(engine.dir, 'vault')).size, 0, 'replayed segments are deleted');

  const after = await status(engine);
  t.is(after.replay.state, 'done');
  t.is(after.replay.records, summary.records);
  t.is(after.vault.records, 0, 'nothing left to replay');
  t.is(await engine.stop(), 0);
});

test('gs-ctl replay --online --detach starts, --stop stops at a batch boundary, and status shows both', async (t) => {
  // One record a second: the replay is still running when the stop arrives.
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024, replay_records_per_second: 1, auto_replay: false } });
  t.teardown(() => engine.cleanup());
  await vaultSome(engine, 'st', 500, 5);
  await zoneAuto(engine);

  const start = await gsCtl('replay', '--online', '--detach', '--config', engine.configPath, '--json');
  t.is(start.code, 0, start.stderr);
  t.is((JSON.parse(start.stdout) as { state: string }).state, 'running');
  t.is((await status(engine)).replay.state, 'running');

  const stop = await gsCtl('replay', '--stop', '--config', engine.configPath);
  t.is(stop.code, 0, stop.stderr);
  await engine.waitForLog((l) => l.msg === 'replay stopped');
  const stopped = await status(engine);
  t.is(stopped.replay.state, 'stopped');
  t.true(stopped.vault.records > 0, 'what was not replayed stays in the vault');
});

test('gs-ctl zone auto after a forced Red: the zone turns Green and the vault replays by itself (vault.auto_replay), each record once', async (t) => {
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024 } });
  t.teardown(() => engine.cleanup());
  const total = 20_000;
  await vaultSome(engine, 'auto', total);
  t.true(countVaultIds(join(engine.dir, 'vault')).size > 0, 'the forced Red vaulted the records');
  t.falsy(engine.logs.find((l) => l.msg === 'replay starting'), 'no replay while Red');

  await zoneAuto(engine);
  await engine.waitForLog((l) => l.msg === 'zone changed' && l.zone === 'green');
  const started = await engine.waitForLog((l) => l.msg === 'replay starting');
  t.is(started.reason, 'auto');
  await engine.waitForLog((l) => l.msg === 'replay done');
  const out = countIds(engine.outputPath);
  const wrong = [];
  for (let i = 0; i < total; i++) if (out.get(`auto-${i}`) !== 1) wrong.push(i);
  t.deepEqual(wrong.slice(0, 10), [], 'every vaulted record is exported exactly once');
  t.is(countVaultIds(join(engine.dir, 'vault')).size, 0, 'replayed segments are deleted');
  t.is((await status(engine)).vault.records, 0);
  t.is(await engine.stop(), 0);
});

test('gs-ctl replay --online with no engine running says so and exits 3', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  t.is(await engine.stop(), 0);
  const run = await gsCtl('replay', '--config', engine.configPath, '--online');
  t.is(run.code, 3);
  t.regex(run.stderr, /^gs-ctl replay: no control socket at \S+control\.sock \(control\.socket of \S+\); is the engine running\?/);
});

test('a vault killed during an online replay: status says the replay failed and counts the restart', async (t) => {
  const engine = await startEngine({ zones: { force: 'red' }, vault: { segment_bytes: 1024 * 1024, replay_records_per_second: 1, auto_replay: false } });
  t.teardown(() => engine.cleanup());
  await vaultSome(engine, 'kv', 200, 5);
  await zoneAuto(engine);
  const start = await gsCtl('replay', '--online', '--detach', '--config', engine.configPath);
  t.is(start.code, 0, start.stderr);
  await engine.waitForLog((l) => l.msg === 'replay progress');

  const killed = await engine.childPid('vault-0');
  process.kill(killed, 'SIGKILL');
  await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'vault-0' && l.childPid !== killed);
  const after = await status(engine);
  t.is(after.replay.state, 'failed');
  t.regex(after.replay.error, /the vault process restarted during the replay/);
  const vault = after.children.find((c) => c.name === 'vault-0')!;
  t.is(vault.restarts, 1);
  t.not(vault.pid, killed);
});

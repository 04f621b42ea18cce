import test from 'ava';
import { join } from 'node:path';
import { countIds, countVaultIds } from './helpers/output';
import { listSegments } from '../src/vault/vault-dir';
import { startEngine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { sdkSender, sendRecords } from './helpers/otel-sdk';

const RED = { zones: { force: 'red' }, vault: { segment_bytes: 4 * 1024 * 1024 } };

function missingOnce(counts: Map<string, number>, prefix: string, total: number, exactlyOnce: boolean): string[] {
  const wrong = [];
  for (let i = 0; i < total; i++) {
    const n = counts.get(`${prefix}-${i}`) ?? 0;
    if (n === 0 || (exactlyOnce && n !== 1)) wrong.push(`${prefix}-${i}: ${n}`);
  }
  return wrong.slice(0, 10);
}

test('forced Red: 100,000 SDK records land in the vault, verify clean, and replay delivers each once to the file exporter', async (t) => {
  const engine = await startEngine(RED);
  t.teardown(() => engine.cleanup());
  const total = 100_000;
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'red', total), { delivered: total, failed: 0 });
  t.is(await engine.stop(), 0);
  t.is(countIds(engine.outputPath).size, 0, 'nothing took the green path');
  const vaultDir = join(engine.dir, 'vault');
  const vault = countVaultIds(vaultDir);
  t.deepEqual(missingOnce(vault, 'red', total, true), []);
  t.is(vault.size, total);
  t.true(listSegments(vaultDir).length > 1, 'the vault rolled over several segments');

  const verify = await gsCtl('vault', 'verify', vaultDir);
  t.is(verify.code, 0, verify.stdout + verify.stderr);
  const replay = await gsCtl('replay', '--config', engine.configPath);
  t.is(replay.code, 0, replay.stderr);
  t.deepEqual(missingOnce(countIds(engine.outputPath), 'red', total, true), [], 'replay exported every record exactly once');
  t.deepEqual(listSegments(vaultDir), [], 'fully replayed segments are deleted');
});

test('the vault SIGKILLed during a Red flood is restarted and loses nothing acknowledged', async (t) => {
  const engine = await startEngine(RED);
  t.teardown(() => engine.cleanup());
  const total = 30_000;
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`, 250);
  let victim = 0;
  for (let i = 0; i < total; i++) {
    sender.emit(`vk-${i}`);
    if (i === total / 3) {
      await sender.flush();
      victim = await engine.childPid('vault-0');
      process.kill(victim, 'SIGKILL');
    }
  }
  t.deepEqual(await sender.flush(), { delivered: total, failed: 0 });
  await sender.shutdown();
  const back = await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'vault-0' && l.childPid !== victim);
  t.is(back.restarts, 1);
  t.is(await engine.stop(), 0);
  const vault = countVaultIds(join(engine.dir, 'vault'));
  t.deepEqual(missingOnce(vault, 'vk', total, false), [], 'every acknowledged record is in the vault at least once');
});

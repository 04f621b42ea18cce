import test from 'ava';
import { join } from 'node:path';
import { countIds, countVaultIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { sdkSender } from './helpers/otel-sdk';

const RED = { zones: { force: 'red' }, vault: { segment_bytes: 4 * 1024 * 1024 } };

function missingOnce(counts: Map<string, number>, prefix: string, total: number, exactlyOnce: boolean): string[] {
  const wrong = [];
  for (let i = 0; i < total; i++) {
    const n = counts.get(`${prefix}-${i}`) ?? 0;
    if (n === 0 || (exactlyOnce && n !== 1)) wrong.push(`${prefix}-${i}: ${n}`);
  }
  return wrong.slice(0, 10);
}

test('forced Red: 100,000 records from the SDK land in the vault, each once, and none in the green output', async (t) => {
  const engine = await startEngine(RED);
  t.teardown(() => engine.cleanup());
  const total = 100_000;
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  for (let i = 0; i < total; i++) sender.emit(`red-${i}`);
  t.deepEqual(await sender.flush(), { delivered: total, failed: 0 });
  await sender.shutdown();
  t.is(await engine.stop(), 0);
  t.is(countIds(engine.outputPath).size, 0, 'nothing took the green path');
  const vault = countVaultIds(join(engine.dir, 'vault'));
  t.deepEqual(missingOnce(vault, 'red', total, true), []);
  t.is(vault.size, total);
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
      victim = engine.childPid('vault-0');
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

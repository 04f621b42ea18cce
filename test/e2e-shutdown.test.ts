import test from 'ava';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';

test('SIGINT stops accepting, empties the rings into the output and exits 0', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'int', 5000), { delivered: 5000, failed: 0 });
  t.is(await engine.stop('SIGINT'), 0);
  t.is(countIds(engine.outputPath).size, 5000);
  const order = engine.logs.filter((l) => l.msg === 'stopping: draining ingest workers' || l.msg === 'stopping: exporters and the vault empty the rings').map((l) => l.msg);
  t.deepEqual(order, ['stopping: draining ingest workers', 'stopping: exporters and the vault empty the rings'], 'ingest stops before the exporters drain');
});

test('the whole process tree SIGKILLed loses nothing acknowledged: the next start exports it from the rings', async (t) => {
  const first = await startEngine();
  t.teardown(() => first.cleanup());
  const exporter = await first.childPid('export-0');
  // A stopped exporter leaves every acknowledged record in the rings when the tree dies.
  process.kill(exporter, 'SIGSTOP');
  t.deepEqual(await sendRecords(`http://127.0.0.1:${first.grpcPort}`, 'tree', 3000), { delivered: 3000, failed: 0 });
  const pids = [first.process.pid!, exporter, await first.childPid('ingest-0'), await first.childPid('ingest-1'), await first.childPid('vault-0')];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  t.is(await first.stop(), null, 'the supervisor died by SIGKILL');
  t.is(countIds(first.outputPath).size, 0, 'nothing was exported before the kill');

  const second = await first.relaunch();
  t.teardown(() => second.cleanup());
  const resumed = await second.waitForLog((l) => l.msg === 'ring holds records from a previous run; they are resumed');
  t.true((resumed.bytes as number) > 0);
  t.is(await second.stop(), 0);
  const counts = countIds(second.outputPath);
  const missing = [];
  for (let i = 0; i < 3000; i++) if (counts.get(`tree-${i}`) !== 1) missing.push(i);
  t.deepEqual(missing, [], 'every acknowledged record is exported exactly once by the next engine');
});

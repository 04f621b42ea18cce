import test from 'ava';
import { once } from 'node:events';
import { join } from 'node:path';
import { createMemoryCgroup } from '../bench/memory-cgroup';
import { exitWithin, spawnNode } from '../bench/child-io';
import { cgroupMissing } from './helpers/cgroup';
import { ROOT, startEngine } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';
import { countIds } from './helpers/output';

const MiB = 1024 * 1024;
const skip = cgroupMissing();

(skip === undefined ? test : test.skip)('an OOM kill in the engine\'s cgroup takes a child, never the supervisor, which restarts it with nothing acknowledged lost', async (t) => {
  t.timeout(120_000);
  const cgroup = createMemoryCgroup(256 * MiB);
  if (typeof cgroup === 'string') throw new Error(cgroup);
  // Sized for the 256 MiB limit by the plan; only the test helper's own ring size is put back.
  const engine = await startEngine({ ingest: { workers: 1 }, rings: { green_bytes: 8 * MiB } }, { cgroup: cgroup.dir });
  try {
    const url = `http://127.0.0.1:${engine.grpcPort}`;
    const first = await sendRecords(url, 'before', 2000);
    t.is(first.delivered, 2000);
    const exporterPid = await engine.childPid('export-0');

    // A neighbour in the same cgroup eats memory until the kernel must kill someone.
    const hog = spawnNode(join(ROOT, 'dist/test/fixtures/memory-hog.js'), [cgroup.dir, cgroup.version === 'v1' ? 'memory.oom_control' : 'memory.events'], cgroup.dir);
    await once(hog.stdout!, 'data');
    const death = await engine.waitForLog((l) => l.msg === 'child exited unexpectedly; restarting');
    t.is(await exitWithin(hog, 30_000).then((e) => e?.code), 0, 'the neighbour saw the kill and let go');
    t.true(cgroup.oomKills() >= 1, 'the kernel did OOM-kill');
    t.is(death.child, 'export-0', 'the exporter, whose score is highest, was the victim');
    t.is(death.signal, 'SIGKILL');
    t.is(death.childPid, exporterPid);
    t.is(engine.process.exitCode, null, 'the supervisor lives');

    // Restarted, and everything acknowledged before and after reaches the output once.
    await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'export-0' && l.childPid !== exporterPid);
    const second = await sendRecords(url, 'after', 2000);
    t.is(second.delivered, 2000);
    // A clean stop empties the rings into the output.
    t.is(await engine.stop(), 0);
    const ids = countIds(engine.outputPath);
    const missing: string[] = [];
    for (const prefix of ['before', 'after']) for (let i = 0; i < 2000; i++) if (ids.get(`${prefix}-${i}`) !== 1) missing.push(`${prefix}-${i}`);
    t.deepEqual(missing, [], 'every acknowledged record is in the output exactly once');
  } finally {
    await engine.cleanup();
    cgroup.remove();
  }
});

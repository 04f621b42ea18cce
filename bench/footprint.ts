/**
 * `npm run bench:footprint`: what the engine holds at rest on its defaults, in a fresh memory
 * cgroup, counted as the kernel counts what it cannot reclaim (memory.stat rss + shmem); the
 * page cache (the node binary's, charged to the first cgroup that reads it) is reported
 * apart. Then each process: anonymous, file-backed and shared-memory resident pages.
 * FOOTPRINT_LIMIT_MIB (default 256), FOOTPRINT_WORKERS (default 2), FOOTPRINT_SETTLE_MS (5000).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { statValue } from '../src/common/stat-file';
import { createMemoryCgroup } from './memory-cgroup';
import { launchEngine } from './targets';

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  const limitMib = Number(process.env.FOOTPRINT_LIMIT_MIB ?? 256);
  const workers = Number(process.env.FOOTPRINT_WORKERS ?? 2);
  const cgroup = createMemoryCgroup(limitMib * MiB);
  if (typeof cgroup === 'string') {
    console.log(`cannot run here: ${cgroup}`);
    process.exitCode = 1;
    return;
  }
  const engine = await launchEngine('footprint', (dir, ringDir, port) => ({
    data_dir: dir,
    ingest: { workers, otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir },
  }), cgroup.dir);
  try {
    await engine.waitForLog((l) => l.msg === 'engine ready', 30_000);
    await sleep(Number(process.env.FOOTPRINT_SETTLE_MS ?? 5000));
    const b = cgroup.breakdown();
    console.log(`limit ${limitMib} MiB, ${workers} ingest workers (${cgroup.version} ${cgroup.dir})`);
    console.log(`unreclaimable (rss + shmem): ${mib(b.anon + b.shmem)} MiB = anon ${mib(b.anon)} + shmem ${mib(b.shmem)}; page cache apart: active ${mib(b.activeFile)}, inactive ${mib(b.inactiveFile)} MiB`);
    console.log('| process | anon MiB | file MiB | shmem MiB |');
    console.log('|---|---|---|---|');
    for (const [name, pid] of new Map([['supervisor', engine.child.pid!], ...engine.childPids()])) {
      const status = readFileSync(`/proc/${pid}/status`, 'latin1');
      const kib = (label: string): number => (statValue(status, label) ?? 0) * 1024;
      console.log(`| ${name} | ${mib(kib('RssAnon:'))} | ${mib(kib('RssFile:'))} | ${mib(kib('RssShmem:'))} |`);
    }
  } finally {
    await engine.stop(30_000);
    engine.cleanup();
    cgroup.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * A memory cgroup of our own with a hard limit, for running the whole engine under it as a
 * container runtime or systemd would: v1 where the host mounts the memory controller there
 * (mkdir under /sys/fs/cgroup/memory), v2 where the host is unified. Only root can do this;
 * `create` says why it cannot instead of throwing.
 */
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  readonly version: 'v1' | 'v2';
  readonly dir: string;
  readonly limitBytes: number;
  usageBytes(): number;
  /** The kernel's own high-water mark of usage since creation. */
  peakBytes(): number;
  /** Processes the kernel OOM-killed in this cgroup. */
  oomKills(): number;
  /** Times usage hit the limit and the kernel had to reclaim (v1 failcnt, v2 events "max"). */
  limitHits(): number;
  /** Charged memory by kind, bytes: anon (heaps), shmem (rings), active and inactive file pages. */
  breakdown(): Record<'anon' | 'shmem' | 'activeFile' | 'inactiveFile', number>;
  /** After every process in it has exited. */
  remove(): void;
}

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

export function createMemoryCgroup(limitBytes: number): MemoryCgroup | string {
  const v1 = existsSync(join(V1, 'memory.limit_in_bytes'));
  const v2 = !v1 && existsSync(join(V2, 'cgroup.controllers')) && readFileSync(join(V2, 'cgroup.controllers'), 'utf8').includes('memory');
  if (!v1 && !v2) return 'no memory cgroup controller is mounted (neither v1 at /sys/fs/cgroup/memory nor v2 at /sys/fs/cgroup)';
  let dir: string;
  try {
    if (v2) writeFileSync(join(V2, 'cgroup.subtree_control'), '+memory');
    dir = mkdtempSync(join(v1 ? V1 : V2, 'gs-spike-'));
    writeFileSync(join(dir, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
  } catch (err) {
    return `cannot create a memory cgroup here (root is needed): ${(err as Error).message}`;
  }
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  const field = (file: string, key: string): number => Number(new RegExp(`^${key} (\\d+)`, 'm').exec(read(file))?.[1] ?? 0);
  return v1
    ? {
        version: 'v1',
        dir,
        limitBytes,
        usageBytes: () => Number(read('memory.usage_in_bytes')),
        peakBytes: () => Number(read('memory.max_usage_in_bytes')),
        oomKills: () => field('memory.oom_control', 'oom_kill'),
        limitHits: () => Number(read('memory.failcnt')),
        breakdown: () => ({ anon: field('memory.stat', 'total_rss'), shmem: field('memory.stat', 'total_shmem'), activeFile: field('memory.stat', 'total_active_file'), inactiveFile: field('memory.stat', 'total_inactive_file') }),
        remove: () => rmdirSync(dir),
      }
    : {
        version: 'v2',
        dir,
        limitBytes,
        usageBytes: () => Number(read('memory.current')),
        peakBytes: () => Number(read('memory.peak')),
        oomKills: () => field('memory.events', 'oom_kill'),
        limitHits: () => field('memory.events', 'max'),
        breakdown: () => ({ anon: field('memory.stat', 'anon'), shmem: field('memory.stat', 'shmem'), activeFile: field('memory.stat', 'active_file'), inactiveFile: field('memory.stat', 'inactive_file') }),
        remove: () => rmdirSync(dir),
      };
}

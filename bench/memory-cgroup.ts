/**
 * A memory cgroup of our own with a hard limit, for running the whole engine under it as a
 * container runtime or systemd would: v1 where the host mounts the memory controller there
 * (mkdir under /sys/fs/cgroup/memory), v2 where the host is unified. Only root can do this;
 * `create` says why it cannot instead of throwing.
 */
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statValue } from '../src/common/stat-file';

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

type Breakdown = ReturnType<MemoryCgroup['breakdown']>;

/** Where each version keeps each figure: a whole file, or a labelled line of one (the label with its space). */
interface Layout {
  limit: string;
  usage: string;
  peak: string;
  oomKills: [file: string, label: string];
  limitHits: [file: string, label: string | null];
  stat: Record<keyof Breakdown, string>;
}

const LAYOUTS: Record<'v1' | 'v2', Layout> = {
  v1: {
    limit: 'memory.limit_in_bytes',
    usage: 'memory.usage_in_bytes',
    peak: 'memory.max_usage_in_bytes',
    oomKills: ['memory.oom_control', 'oom_kill '],
    limitHits: ['memory.failcnt', null],
    stat: { anon: 'total_rss ', shmem: 'total_shmem ', activeFile: 'total_active_file ', inactiveFile: 'total_inactive_file ' },
  },
  v2: {
    limit: 'memory.max',
    usage: 'memory.current',
    peak: 'memory.peak',
    oomKills: ['memory.events', 'oom_kill '],
    limitHits: ['memory.events', 'max '],
    stat: { anon: 'anon ', shmem: 'shmem ', activeFile: 'active_file ', inactiveFile: 'inactive_file ' },
  },
};

export function createMemoryCgroup(limitBytes: number): MemoryCgroup | string {
  const v1 = existsSync(join(V1, LAYOUTS.v1.limit));
  const v2 = !v1 && existsSync(join(V2, 'cgroup.controllers')) && readFileSync(join(V2, 'cgroup.controllers'), 'utf8').includes('memory');
  if (!v1 && !v2) return 'no memory cgroup controller is mounted (neither v1 at /sys/fs/cgroup/memory nor v2 at /sys/fs/cgroup)';
  const version = v1 ? 'v1' : 'v2';
  const layout = LAYOUTS[version];
  let dir: string;
  try {
    if (v2) writeFileSync(join(V2, 'cgroup.subtree_control'), '+memory');
    dir = mkdtempSync(join(v1 ? V1 : V2, 'gs-spike-'));
    writeFileSync(join(dir, layout.limit), String(limitBytes));
  } catch (err) {
    return `cannot create a memory cgroup here (root is needed): ${(err as Error).message}`;
  }
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  const value = ([file, label]: [string, string | null]): number => (label === null ? Number(read(file)) : (statValue(read(file), label) ?? 0));
  return {
    version,
    dir,
    limitBytes,
    usageBytes: () => Number(read(layout.usage)),
    peakBytes: () => Number(read(layout.peak)),
    oomKills: () => value(layout.oomKills),
    limitHits: () => value(layout.limitHits),
    breakdown: () => {
      const stat = read('memory.stat');
      const of = (key: keyof Breakdown): number => statValue(stat, layout.stat[key]) ?? 0;
      return { anon: of('anon'), shmem: of('shmem'), activeFile: of('activeFile'), inactiveFile: of('inactiveFile') };
    },
    remove: () => rmdirSync(dir),
  };
}

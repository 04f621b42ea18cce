/**
 * Where the engine's memory limit comes from, found once at start: the memory cgroup the
 * supervisor runs in (v2, or v1 on hosts that still mount it), or the host's RAM when no
 * cgroup sets a limit. A limit set on an ancestor cgroup (a Kubernetes pod, a systemd slice)
 * counts: the tightest one on the way to the root is the one the kernel enforces first.
 *
 * Usage is the working set as the kernel's reclaim sees it: charged memory minus inactive
 * file pages, which the kernel drops before it would OOM-kill anyone (kubelet counts the same).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StatFile, statValue } from './stat-file';

export interface MemoryReading {
  usageBytes: number;
  limitBytes: number;
}

export interface MemorySource {
  readonly kind: 'cgroup-v2' | 'cgroup-v1' | 'host';
  /** The cgroup directory whose limit applies, or /proc/meminfo. */
  readonly path: string;
  /** The PSI memory file that covers this engine, where the kernel has one. */
  readonly psiPath: string | undefined;
  read(): MemoryReading;
  close(): void;
}

export interface HostPaths {
  procSelfCgroup: string;
  cgroupRoot: string;
  meminfo: string;
  hostPsi: string;
}

export const HOST_PATHS: HostPaths = {
  procSelfCgroup: '/proc/self/cgroup',
  cgroupRoot: '/sys/fs/cgroup',
  meminfo: '/proc/meminfo',
  hostPsi: '/proc/pressure/memory',
};

/** cgroup v1 writes "no limit" as a page-rounded 2^63 - 1. */
const V1_UNLIMITED = 2 ** 60;

export function detectMemorySource(paths: HostPaths = HOST_PATHS): MemorySource {
  const lines = readFileSync(paths.procSelfCgroup, 'utf8').split('\n');
  const pathOf = (match: (controllers: string[]) => boolean): string | undefined => {
    for (const line of lines) {
      const [id, controllers, path] = line.split(':');
      if (path !== undefined && match(controllers.split(',')) && (id !== '0' || controllers === '')) return path;
    }
    return undefined;
  };
  const unified = pathOf((c) => c.length === 1 && c[0] === '');
  const v1 = pathOf((c) => c.includes('memory'));
  const hostPsi = existsSync(paths.hostPsi) ? paths.hostPsi : undefined;

  if (unified !== undefined) {
    // Pure v2 mounts the hierarchy at the root; hybrid hosts under unified/, without memory.
    for (const mount of [paths.cgroupRoot, join(paths.cgroupRoot, 'unified')]) {
      const own = join(mount, unified);
      if (!existsSync(join(own, 'memory.current'))) continue;
      const limited = tightest(own, mount, 'memory.max');
      const psi = join(own, 'memory.pressure');
      if (limited !== undefined) return cgroupSource('cgroup-v2', limited, 'memory.current', 'inactive_file ', existsSync(psi) ? psi : hostPsi);
    }
  }
  if (v1 !== undefined) {
    const mount = join(paths.cgroupRoot, 'memory');
    const limited = tightest(join(mount, v1), mount, 'memory.limit_in_bytes');
    if (limited !== undefined) {
      const unifiedPsi = unified === undefined ? undefined : join(paths.cgroupRoot, 'unified', unified, 'memory.pressure');
      const psi = unifiedPsi !== undefined && existsSync(unifiedPsi) ? unifiedPsi : hostPsi;
      return cgroupSource('cgroup-v1', limited, 'memory.usage_in_bytes', 'total_inactive_file ', psi);
    }
  }
  return hostSource(paths.meminfo, hostPsi);
}

/** The directory from `dir` up to `mount` with the smallest finite limit in `file`. */
function tightest(dir: string, mount: string, file: string): string | undefined {
  let best: string | undefined;
  let bestLimit = Infinity;
  for (let d = dir; d.startsWith(mount); d = dirname(d)) {
    const path = join(d, file);
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8').trim();
      const limit = text === 'max' ? Infinity : Number(text);
      if (limit < V1_UNLIMITED && limit < bestLimit) {
        best = d;
        bestLimit = limit;
      }
    }
    if (d === mount) break;
  }
  return best;
}

function cgroupSource(kind: 'cgroup-v2' | 'cgroup-v1', dir: string, usageFile: string, inactiveLabel: string, psiPath: string | undefined): MemorySource {
  const usage = new StatFile(join(dir, usageFile));
  const limit = new StatFile(join(dir, kind === 'cgroup-v2' ? 'memory.max' : 'memory.limit_in_bytes'));
  const stat = new StatFile(join(dir, 'memory.stat'));
  return {
    kind,
    path: dir,
    psiPath,
    read() {
      const inactive = statValue(stat.text(), inactiveLabel) ?? 0;
      return { usageBytes: Math.max(0, usage.number() - inactive), limitBytes: limit.number() };
    },
    close() {
      for (const f of [usage, limit, stat]) f.close();
    },
  };
}

function hostSource(meminfoPath: string, psiPath: string | undefined): MemorySource {
  const meminfo = new StatFile(meminfoPath);
  return {
    kind: 'host',
    path: meminfoPath,
    psiPath,
    read() {
      const text = meminfo.text();
      const total = (statValue(text, 'MemTotal:') ?? 0) * 1024;
      const available = (statValue(text, 'MemAvailable:') ?? 0) * 1024;
      return { usageBytes: total - available, limitBytes: total };
    },
    close() {
      meminfo.close();
    },
  };
}

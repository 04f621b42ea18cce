/**
 * The two things the Red path is compared with on the host itself: what `dd oflag=direct`
 * writes per second to the vault's filesystem (the ceiling an O_DIRECT writer can reach),
 * and the kernel's page-cache counters, which O_DIRECT writes must leave alone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface DdResult {
  bytes: number;
  seconds: number;
  mbPerS: number;
}

/** Writes `mib` MiB of zeros with O_DIRECT into `dir`, then deletes the file. */
export function ddDirect(dir: string, mib: number): DdResult {
  const file = join(dir, 'ddtest');
  try {
    // dd reports on stderr; execFileSync returns only stdout, so fold stderr into it.
    const out = execFileSync('sh', ['-c', `dd if=/dev/zero of="$1" bs=1M count=${mib} oflag=direct 2>&1`, 'dd', file], { encoding: 'utf8' });
    // "4294967296 bytes (4.3 GB, 4.0 GiB) copied, 4.81 s, 893 MB/s": the unit varies (MB/s, GB/s),
    // so compute the rate from bytes and seconds instead of parsing it.
    const m = /^(\d+) bytes .* copied, ([\d.]+) s/m.exec(out);
    if (m === null) throw new Error(`cannot parse dd output: ${out}`);
    const bytes = Number(m[1]);
    const seconds = Number(m[2]);
    return { bytes, seconds, mbPerS: bytes / seconds / 1e6 };
  } finally {
    rmSync(file, { force: true });
  }
}

export interface MemInfo {
  cachedBytes: number;
  dirtyBytes: number;
  /** tmpfs and shared memory: the rings in /dev/shm. Part of Cached as well. */
  shmemBytes: number;
}

export function readMemInfo(): MemInfo {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (m === null) throw new Error(`/proc/meminfo has no ${key}`);
    return Number(m[1]) * 1024;
  };
  return { cachedBytes: kib('Cached'), dirtyBytes: kib('Dirty'), shmemBytes: kib('Shmem') };
}

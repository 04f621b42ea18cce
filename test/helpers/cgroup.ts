/**
 * Whether this host lets a test make a memory cgroup of its own: the reason it cannot, for
 * `test.skip`, or undefined. The cgroup itself is made by bench/memory-cgroup.ts.
 */
import { existsSync, readFileSync } from 'node:fs';

export function cgroupMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'making a memory cgroup needs root';
  if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) return undefined;
  const controllers = '/sys/fs/cgroup/cgroup.controllers';
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').includes('memory')) return undefined;
  return 'no memory cgroup controller is mounted (neither v1 at /sys/fs/cgroup/memory nor v2 at /sys/fs/cgroup)';
}

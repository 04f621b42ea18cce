/**
 * `mkdir -p` without `fs.mkdirSync(..., { recursive: true })`: on Node 20 that call spins
 * forever on a path under /proc or /sys (mkdir answers ENOENT there even though the parent
 * exists, and Node retries the parent without end). A mistyped path in the config must
 * give an error, not a process stuck at 100% CPU that ignores its supervisor.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirs(path: string, mode: number): void {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    try {
      statSync(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) mkdirSync(dir, { mode });
}

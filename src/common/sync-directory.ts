/**
 * fsync of a directory: makes a create, rename or unlink inside it durable. A file's own
 * fdatasync does not cover its directory entry.
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

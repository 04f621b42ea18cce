/**
 * Memory of the supervisor and its children together, as proportional set size: pages shared
 * between them (the rings, the node binary) are split among the sharers instead of counted
 * once per process, so the sum is what the tree really holds.
 */
import { readFileSync } from 'node:fs';
import { statValue } from '../common/stat-file';

export function treePssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += statValue(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'), 'Pss:') ?? 0;
    } catch {
      // A child that exited between listing and reading holds nothing any more.
    }
  }
  return kib * 1024;
}

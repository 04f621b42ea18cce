/**
 * The vault directory as a whole: its segments in sequence order, and the recovery every
 * opener (the vault process at start, offline tools) runs before trusting them.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSegmentFileName } from './segment-format';
import { recoverSegment, type SegmentReaderOptions } from './segment-reader';

export interface SegmentFile {
  path: string;
  firstSeq: number;
  bytes: number;
}

/** Segments in `dir`, oldest first; an absent directory is an empty vault. */
export function listSegments(dir: string): SegmentFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const segments: SegmentFile[] = [];
  for (const name of names) {
    const firstSeq = parseSegmentFileName(name);
    if (firstSeq === null) continue;
    const path = join(dir, name);
    segments.push({ path, firstSeq, bytes: statSync(path).size });
  }
  return segments.sort((a, b) => a.firstSeq - b.firstSeq);
}

export interface RecoveredVault {
  segments: number;
  records: number;
  /** Disk bytes of all segments after recovery. */
  bytes: number;
  /** Highest sequence number found: the next record gets lastSeq + 1. */
  lastSeq: number;
  truncatedBytes: number;
  corruptSkipped: number;
}

/** Truncates torn tails and counts what is kept; never deletes a segment. */
export function recoverVault(dir: string, options?: SegmentReaderOptions): RecoveredVault {
  const total: RecoveredVault = { segments: 0, records: 0, bytes: 0, lastSeq: 0, truncatedBytes: 0, corruptSkipped: 0 };
  for (const segment of listSegments(dir)) {
    const r = recoverSegment(segment.path, options);
    total.segments++;
    total.records += r.records;
    total.bytes += r.bytes;
    total.truncatedBytes += r.truncatedBytes;
    total.corruptSkipped += r.corruptSkipped;
    total.lastSeq = Math.max(total.lastSeq, r.lastSeq, segment.firstSeq - 1);
  }
  return total;
}

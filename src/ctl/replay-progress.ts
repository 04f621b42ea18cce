/**
 * Replay progress on stdout, for the offline replay and for following an online one.
 */
import type { Writable } from 'node:stream';
import type { ReplayProgress, ReplaySummary } from '../vault/replayer';

const JSON_PROGRESS_EVERY_MS = 1000;
const TTY_PROGRESS_EVERY_MS = 200;

/**
 * A terminal gets one line rewritten in place; anything else (a pipe, a log collector) gets
 * JSON lines, few enough to keep.
 */
export class ProgressPrinter {
  private readonly out: Writable;
  private readonly tty: boolean;
  private lastMs = -Infinity;
  /** A terminal line is being rewritten: anything else printed must start on a line of its own. */
  private lineOpen = false;

  constructor(out: Writable, json = false) {
    this.out = out;
    this.tty = !json && (out as { isTTY?: boolean }).isTTY === true;
  }

  update(p: ReplayProgress): void {
    const now = performance.now();
    if (now - this.lastMs < (this.tty ? TTY_PROGRESS_EVERY_MS : JSON_PROGRESS_EVERY_MS)) return;
    this.lastMs = now;
    if (this.tty) {
      this.out.write(`\r\x1b[2K${p.records} requests, ${mebibytes(p.bytes)}, ${Math.round(p.recordsPerSecond)} requests/s (vault records), ETA ${p.etaSeconds === null ? '?' : `${Math.ceil(p.etaSeconds)}s`}`);
      this.lineOpen = true;
    } else {
      this.out.write(`${JSON.stringify({ records: p.records, bytes: p.bytes, rate: Math.round(p.recordsPerSecond), eta_s: p.etaSeconds === null ? null : Math.ceil(p.etaSeconds) })}\n`);
    }
  }

  /** The replay failed: the error goes below the last progress line, not over it. */
  abandon(): void {
    if (this.lineOpen) this.out.write('\n');
    this.lineOpen = false;
  }

  finish(s: ReplaySummary & { deadLettered: number }): void {
    const seconds = Math.round(s.elapsedMs) / 1000;
    if (this.tty) {
      const verdict = s.completed ? 'done' : 'stopped';
      this.out.write(
        `\r\x1b[2K${verdict}: ${s.records} records (${mebibytes(s.bytes)}) in ${seconds}s, ${s.deadLettered} dead-lettered, ${s.skipped} already replayed, ${s.segmentsDeleted} segments deleted, cursor at seq ${s.cursor}\n`,
      );
      this.lineOpen = false;
    } else {
      const summary = {
        done: s.completed,
        records: s.records,
        bytes: s.bytes,
        dead_lettered: s.deadLettered,
        skipped: s.skipped,
        segments_deleted: s.segmentsDeleted,
        cursor: s.cursor,
        elapsed_s: seconds,
        rate: Math.round(s.recordsPerSecond),
      };
      this.out.write(`${JSON.stringify(summary)}\n`);
    }
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

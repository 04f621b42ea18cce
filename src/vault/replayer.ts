/**
 * Replays the raw vault: every record above the replay cursor, in seq order, handed in
 * batches to a handler (the exporters), at a bounded rate.
 *
 * Only once a batch is delivered does the cursor move to the batch's last seq; only once
 * the cursor covers a segment is the segment deleted. So a replay stopped at any instant,
 * even by SIGKILL, resumes at the cursor and hands out again at most the batches it had
 * handed over and not yet seen delivered (at-least-once), and the vault shrinks as the
 * replay goes.
 *
 * Passing over records at or below the cursor is only right while a vault never numbers two
 * records alike. A vault that does (written anew, from seq 1, after a replay emptied it) is
 * refused with ReplayCursorAheadError wherever that shows, rather than deleted as replayed.
 *
 * The caller owns the vault meanwhile: it has recovered it (recoverVault), and nothing
 * appends to the segments being replayed. Knows nothing of exporters or of a terminal, so
 * the offline `gs-ctl replay` and a running engine can both drive it.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplayCursorAheadError, invalidArgument } from '../common/errors';
import { syncDirectory } from '../common/sync-directory';
import { CURSOR_FILE, readCursor, writeCursor } from './replay-cursor';
import { SegmentReader, type VaultRecord } from './segment-reader';
import { listSegments } from './vault-dir';

/** Bounds a batch like an exporter's ring batch, so the handler sees the load it is built for. */
const BATCH_MAX_RECORDS = 512;
const DEFAULT_BATCH_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Batches handed over but not yet delivered, at most (memory-plan.ts counts them: the batches
 * are copies). Reading and handing over the next
 * batch while the exporter works on the last keeps both busy; the handler's own buffer (the
 * replay ring) bounds the bytes, this bounds how far the cursor may lag.
 */
export const MAX_UNDELIVERED = 4;
/** While paused, how often to look whether the pace allows going on again. */
const PAUSE_RECHECK_MS = 50;

export interface ReplayBatch {
  /** The segment file the records come from: a batch never spans two. */
  readonly segment: string;
  /** In seq order. Payloads are copies, the handler's to keep. */
  readonly records: readonly VaultRecord[];
}

/**
 * Returns (or resolves) once it may be given the next batch. Without a value, the batch is
 * then delivered (every record exported or dead-lettered); with one, `delivered` settles when
 * it is, and meanwhile the replay reads and hands over the next batches. A throw, or a
 * delivery that fails, stops the replay with the cursor still before that batch.
 */
export type ReplayHandler = (batch: ReplayBatch) => void | Promise<void | InDelivery>;

export interface InDelivery {
  readonly delivered: Promise<void>;
}

interface Undelivered {
  readonly delivered: Promise<void>;
  /** Set as soon as `delivered` resolves, so that a replay stopped by an error can keep what got through. */
  done: boolean;
  readonly lastSeq: number;
  readonly records: number;
  readonly bytes: number;
}

export interface ReplayProgress {
  /** Records handed to the handler by this replay. */
  records: number;
  /** Their payload bytes, as stored (still gzip-compressed where the client sent gzip). */
  bytes: number;
  /** Records at or below the cursor, which an earlier replay handed out: passed over. */
  skipped: number;
  /** Every record up to this seq is exported. */
  cursor: number;
  elapsedMs: number;
  /** Average over this replay so far. */
  recordsPerSecond: number;
  /** null without `vaultRecords`, or before anything was handed out. */
  etaSeconds: number | null;
}

export interface ReplaySummary extends ReplayProgress {
  /** false when `signal` stopped the replay before the vault was empty. */
  completed: boolean;
  segmentsDeleted: number;
}

export interface ReplayOptions {
  /** The vault directory, recovered. */
  readonly dir: string;
  readonly handle: ReplayHandler;
  /** Upper bound on the records handed out per second. */
  readonly recordsPerSecond: number;
  /** A batch's payload bytes, at most (a single larger record still makes a batch of its own); 8 MiB unless set. */
  readonly batchBytes?: number;
  /**
   * The share of that rate allowed now, asked as the replay goes: 1 (the default), a fraction
   * to slow it, 0 to pause it until the share is above 0 again.
   */
  readonly pace?: () => number;
  /** Called after every batch, once the cursor is saved. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** Records in the vault as the replay starts (recoverVault's count): only for the ETA. */
  readonly vaultRecords?: number;
  /** Stops the replay at the next batch boundary; the batches handed over are delivered first. */
  readonly signal?: AbortSignal;
  /**
   * Only segments that start below this seq: a running vault passes the first seq of the
   * segment it is writing, which must be neither replayed nor deleted.
   */
  readonly beforeSeq?: number;
  /** Told each time a replayed segment is deleted, with its size: a running vault frees the space at once. */
  readonly onSegmentDeleted?: (bytes: number) => void;
}

export async function replayVault(options: ReplayOptions): Promise<ReplaySummary> {
  const { recordsPerSecond, vaultRecords } = options;
  if (!(Number.isFinite(recordsPerSecond) && recordsPerSecond > 0)) throw invalidArgument('a positive number', 'recordsPerSecond', recordsPerSecond);
  if (vaultRecords !== undefined && !(Number.isSafeInteger(vaultRecords) && vaultRecords >= 0)) {
    throw invalidArgument('an integer >= 0', 'vaultRecords', vaultRecords);
  }
  return new Replay(options).run();
}

class Replay {
  private readonly options: ReplayOptions;
  private readonly bucket: TokenBucket;
  /** Never more than a second's worth: the bound then holds over every second, not only on average. */
  private readonly batchRecords: number;
  private readonly started = performance.now();
  private cursor = 0;
  private records = 0;
  private bytes = 0;
  private skipped = 0;
  private segmentsDeleted = 0;
  private readonly undelivered: Undelivered[] = [];

  constructor(options: ReplayOptions) {
    this.options = options;
    this.batchRecords = Math.max(1, Math.min(BATCH_MAX_RECORDS, Math.floor(options.recordsPerSecond)));
    this.bucket = new TokenBucket(options.recordsPerSecond, this.batchRecords, options.pace ?? (() => 1));
  }

  async run(): Promise<ReplaySummary> {
    const { dir } = this.options;
    this.cursor = readCursor(dir);
    const { beforeSeq } = this.options;
    const segments = listSegments(dir).filter((s) => beforeSeq === undefined || s.firstSeq < beforeSeq);
    // Only the first segment can hold replayed records (the one replay was in, or whose
    // deletion a crash cut short); a later one starting at or below the cursor reuses seqs.
    const reused = segments.slice(1).find((s) => s.firstSeq <= this.cursor);
    if (reused !== undefined) throw this.cursorAhead(reused.path, `starts at seq ${reused.firstSeq}`);
    for (const segment of segments) {
      let whole: boolean;
      try {
        whole = await this.replaySegment(segment.path);
      } catch (err) {
        // Batches already delivered must not be exported again by the next replay.
        this.keepDelivered();
        throw err;
      }
      await this.settleAll();
      if (!whole) return this.summary(false);
      // The cursor now covers every record of the segment, so the file can go: a crash
      // before the directory sync brings the file back, and replay passes over it again.
      unlinkSync(segment.path);
      syncDirectory(dir);
      this.segmentsDeleted++;
      this.options.onSegmentDeleted?.(segment.bytes);
    }
    return this.summary(true);
  }

  /** Hands out every record of the segment above the cursor; false when stopped first. */
  private async replaySegment(path: string): Promise<boolean> {
    const reader = new SegmentReader(path);
    try {
      let batch: VaultRecord[] = [];
      let bytes = 0;
      let handedOut = false;
      let lastSkipped = 0;
      for (let record = reader.next(); record !== null; record = reader.next()) {
        if (record.seq <= this.cursor) {
          this.skipped++;
          lastSkipped = record.seq;
          continue;
        }
        handedOut = true;
        // The reader reuses its buffer on the next read; the batch must outlive that.
        batch.push({ ...record, payload: record.payload.slice() });
        bytes += record.payload.byteLength;
        if (batch.length >= this.batchRecords || bytes >= (this.options.batchBytes ?? DEFAULT_BATCH_MAX_BYTES)) {
          if (!(await this.deliver(path, batch, bytes))) return false;
          batch = [];
          bytes = 0;
        }
      }
      // Replay saves the cursor at a segment's last record before it deletes the segment, so
      // a segment left behind with nothing above the cursor must end exactly at it.
      if (!handedOut && lastSkipped !== 0 && lastSkipped < this.cursor) throw this.cursorAhead(path, `ends at seq ${lastSkipped}`);
      return batch.length === 0 || (await this.deliver(path, batch, bytes));
    } finally {
      reader.close();
    }
  }

  private async deliver(segment: string, records: VaultRecord[], bytes: number): Promise<boolean> {
    const { handle, signal } = this.options;
    if (signal?.aborted || !(await this.bucket.take(records.length, signal))) return false;
    while (this.undelivered.length >= MAX_UNDELIVERED) await this.settleOldest();
    const inDelivery = await handle({ segment, records });
    const batch: Undelivered = { delivered: inDelivery?.delivered ?? Promise.resolve(), done: false, lastSeq: records[records.length - 1].seq, records: records.length, bytes };
    // Also what keeps a failure, settled in order later, from counting as unhandled meanwhile.
    batch.delivered.then(
      () => (batch.done = true),
      () => {},
    );
    this.undelivered.push(batch);
    // A handler that delivered before it returned leaves nothing to wait for: the cursor moves now.
    if (inDelivery === undefined) await this.settleAll();
    return true;
  }

  private async settleAll(): Promise<void> {
    while (this.undelivered.length !== 0) await this.settleOldest();
  }

  /** Deliveries finish in the order the batches were handed over, so the cursor only moves forward. */
  private async settleOldest(): Promise<void> {
    const batch = this.undelivered[0];
    await batch.delivered;
    this.advancePast(batch);
  }

  /** Moves the cursor over the leading batches known delivered, without waiting for any. */
  private keepDelivered(): void {
    while (this.undelivered.length !== 0 && this.undelivered[0].done) this.advancePast(this.undelivered[0]);
  }

  private advancePast(batch: Undelivered): void {
    this.undelivered.shift();
    this.cursor = batch.lastSeq;
    writeCursor(this.options.dir, this.cursor);
    this.records += batch.records;
    this.bytes += batch.bytes;
    this.options.onProgress?.(this.progress());
  }

  private cursorAhead(path: string, where: string): ReplayCursorAheadError {
    return new ReplayCursorAheadError(
      `${path} ${where}, at or below the replay cursor (seq ${this.cursor}) although no replay exported it: its seqs were used again. Nothing was exported or deleted; if these records were never exported, delete ${join(this.options.dir, CURSOR_FILE)} and replay again`,
    );
  }

  private progress(): ReplayProgress {
    const elapsedMs = performance.now() - this.started;
    const recordsPerSecond = elapsedMs > 0 ? (this.records * 1000) / elapsedMs : 0;
    const { vaultRecords } = this.options;
    const remaining = vaultRecords === undefined ? null : Math.max(0, vaultRecords - this.records - this.skipped);
    return {
      records: this.records,
      bytes: this.bytes,
      skipped: this.skipped,
      cursor: this.cursor,
      elapsedMs,
      recordsPerSecond,
      etaSeconds: remaining === null || recordsPerSecond === 0 ? null : remaining / recordsPerSecond,
    };
  }

  private summary(completed: boolean): ReplaySummary {
    return { ...this.progress(), completed, segmentsDeleted: this.segmentsDeleted };
  }
}

/**
 * Starts empty, so that even a short replay stays under the rate, and holds at most one
 * batch, so that time spent exporting does not buy a burst afterwards. Fills at the rate
 * times the pace of the moment; at pace 0 it looks again every PAUSE_RECHECK_MS (nothing
 * signals a change of zone).
 */
class TokenBucket {
  private tokens = 0;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    private readonly pace: () => number,
  ) {}

  /** Waits until `n` tokens are there and takes them; false when `signal` fired meanwhile. */
  async take(n: number, signal: AbortSignal | undefined): Promise<boolean> {
    for (this.refill(); this.tokens < n; this.refill()) {
      const rate = this.perSecond * this.pace();
      try {
        await sleep(rate === 0 ? PAUSE_RECHECK_MS : Math.ceil(((n - this.tokens) * 1000) / rate), undefined, { signal });
      } catch (err) {
        if (signal?.aborted) return false;
        throw err;
      }
    }
    this.tokens -= n;
    return true;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perSecond * this.pace()) / 1000);
    this.last = now;
  }
}

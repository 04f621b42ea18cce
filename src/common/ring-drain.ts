/**
 * Drains a set of rings into a handler, one bounded batch per ring per turn of the event
 * loop, and sleeps on the rings' doorbells when all are empty. The head of a ring moves
 * only after the handler returned for the whole batch; a handler that throws leaves the
 * batch in the ring to be offered again after a backoff, so nothing is lost to a transient
 * failure such as a full disk.
 */
import { DoorbellListener, DoorbellSender, commitBellPath, doorbellPath } from './doorbell';
import { RingCorruptError } from './errors';
import type { Logger } from './log';
import { attachRing, type RingReader, type RingRecord } from './ring';

/**
 * Bounds one batch so that one busy ring cannot starve the others or the event loop, and so
 * that what a handler builds from a batch stays small: decoded OTLP and its JSON take about
 * ten times the bytes of the request.
 */
export interface BatchLimits {
  records: number;
  bytes: number;
}
/** Insurance against a lost wakeup (a writer killed between publish and doorbell). */
const SLEEP_RECHECK_MS = 250;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;

/** `ring` is the ring's name, e.g. green-0, red-1, replay. */
export type BatchHandler = (ring: string, batch: readonly RingRecord[]) => void;

interface Source {
  name: string;
  reader: RingReader;
  bell: DoorbellListener;
  /** Rung after a commit that a writer waits for (CommitWaiter). */
  committed: DoorbellSender;
  failures: number;
  /** performance.now() before which a failed ring is not tried again. */
  retryAt: number;
}

export class RingDrain {
  private readonly sources: Source[];
  private readonly batch: RingRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    /** Ring name to ring file. */
    ringPaths: ReadonlyMap<string, string>,
    private readonly handle: BatchHandler,
    private readonly log: Logger,
    private readonly limits: BatchLimits,
    /** Told of each failed batch (after it is logged), e.g. to report the last error. */
    private readonly onFailure?: (ring: string, err: unknown) => void,
  ) {
    this.sources = [...ringPaths].map(([name, path]) => ({
      name,
      reader: attachRing(path).reader(),
      bell: new DoorbellListener(doorbellPath(path), () => this.wake()),
      committed: new DoorbellSender(commitBellPath(path)),
      failures: 0,
      retryAt: 0,
    }));
  }

  start(): void {
    this.wake();
  }

  /**
   * Resolves once there is nothing left to do now: every ring has been seen empty, or is
   * waiting out a failure (a full vault, a full disk). Records of a failing ring stay in it
   * for the next process, so a shutdown need not wait for the failure to clear.
   */
  untilIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.wake();
    });
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const s of this.sources) {
      s.bell.close();
      s.committed.close();
    }
  }

  private wake(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    clearTimeout(this.timer);
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const now = performance.now();
    let moved = false;
    let nextRetry = Infinity;
    const ready: Source[] = [];
    for (const source of this.sources) {
      // A ring whose handler failed waits out its backoff; the others go on meanwhile.
      if (source.retryAt > now) {
        nextRetry = Math.min(nextRetry, source.retryAt);
        continue;
      }
      try {
        moved = this.drainOne(source) || moved;
        source.failures = 0;
        ready.push(source);
      } catch (err) {
        source.failures++;
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (source.failures - 1));
        source.retryAt = now + delay;
        nextRetry = Math.min(nextRetry, source.retryAt);
        this.log.error('handling a batch failed; the same records will be retried', { ring: source.name, err, retryInMs: delay });
        this.onFailure?.(source.name, err);
      }
    }
    if (moved || !ready.every((s) => s.reader.prepareToSleep())) {
      this.wake();
      return;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.timer = setTimeout(() => this.wake(), Math.min(SLEEP_RECHECK_MS, Math.max(0, nextRetry - now)));
  }

  private drainOne(source: Source): boolean {
    const batch = this.batch;
    batch.length = 0;
    let bytes = 0;
    try {
      for (let rec = source.reader.next(); rec !== null; rec = source.reader.next()) {
        batch.push(rec);
        bytes += rec.payload.byteLength;
        if (batch.length >= this.limits.records || bytes >= this.limits.bytes) break;
      }
    } catch (err) {
      if (!(err instanceof RingCorruptError)) throw err;
      // Only a bug or a foreign writer breaks the framing; retrying would loop forever, so
      // say loudly what is given up and keep the ring usable.
      this.log.error('ring framing is broken; skipping to its tail', { ring: source.name, err, unreadBytes: source.reader.unread() });
      source.reader.skipToTail();
      batch.length = 0;
      return true;
    }
    if (batch.length === 0) return false;
    try {
      this.handle(source.name, batch);
    } catch (err) {
      source.reader.rewind();
      throw err;
    } finally {
      batch.length = 0;
    }
    if (source.reader.commit()) source.committed.ring();
    return true;
  }
}

/**
 * Drains a set of rings into a handler, one bounded batch per ring per turn of the event
 * loop, and sleeps on the rings' doorbells when all are empty. The head of a ring moves
 * only after the handler returned (or its promise resolved) for the whole batch; a handler
 * that throws (or rejects) leaves the batch in the ring to be offered again after a backoff,
 * so nothing is lost to a transient failure such as a full disk.
 *
 * A ring whose batch is in an asynchronous handler (a network exporter awaiting its
 * downstream) is not read further until the handler settles: the batch waits in the ring,
 * not in a queue, so memory stays bounded however long the downstream takes, and a slow
 * downstream shows as a filling ring (which ingest answers by spilling to the vault).
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
  /**
   * A batch below both limits is left in the ring until its first record has waited this
   * long (by its receive time), so that a trickle still makes full downstream requests.
   * 0 hands out whatever is there. Ignored while untilIdle() is pending (shutdown flushes).
   */
  delayMs?: number;
}
/** Insurance against a lost wakeup (a writer killed between publish and doorbell). */
const SLEEP_RECHECK_MS = 250;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
/** While held back, how often to look whether the hold is over (a zone changes in ms). */
const HOLD_RECHECK_MS = 10;

/** `ring` is the ring's name, e.g. green-0, red-1, replay. */
export type BatchHandler = (ring: string, batch: readonly RingRecord[]) => void | Promise<void>;

interface Source {
  name: string;
  reader: RingReader;
  bell: DoorbellListener;
  /** Rung after a commit that a writer waits for (CommitWaiter). */
  committed: DoorbellSender;
  failures: number;
  /** performance.now() before which a failed ring is not tried again. */
  retryAt: number;
  /** A batch of this ring is in an asynchronous handler. */
  busy: boolean;
  /** performance.now() until which a partial batch waits for more records (delayMs). */
  heldUntil: number;
}

export class RingDrain {
  private readonly sources: Source[];
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
    /** True while no new batch may be taken (the exporters in a memory-Red zone). */
    private readonly holdBack: () => boolean = () => false,
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
      busy: false,
      heldUntil: 0,
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
    if (this.holdBack()) {
      // Records wait in the rings, which outlive us: a shutdown need not wait for the hold.
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      this.timer = setTimeout(() => this.wake(), HOLD_RECHECK_MS);
      return;
    }
    const now = performance.now();
    let moved = false;
    let nextRetry = Infinity;
    let busy = false;
    const ready: Source[] = [];
    for (const source of this.sources) {
      if (source.busy) {
        busy = true;
        continue;
      }
      // A ring whose handler failed waits out its backoff; the others go on meanwhile.
      if (source.retryAt > now) {
        nextRetry = Math.min(nextRetry, source.retryAt);
        continue;
      }
      try {
        moved = this.drainOne(source, now) || moved;
        if (source.busy) busy = true;
        else if (source.heldUntil > now) nextRetry = Math.min(nextRetry, source.heldUntil);
        else {
          source.failures = 0;
          ready.push(source);
        }
      } catch (err) {
        this.failed(source, err, now);
        nextRetry = Math.min(nextRetry, source.retryAt);
      }
    }
    if (moved || !ready.every((s) => s.reader.prepareToSleep())) {
      this.wake();
      return;
    }
    if (!busy) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.timer = setTimeout(() => this.wake(), Math.min(SLEEP_RECHECK_MS, Math.max(0, nextRetry - now)));
  }

  private failed(source: Source, err: unknown, now: number): void {
    source.failures++;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (source.failures - 1));
    source.retryAt = now + delay;
    this.log.error('handling a batch failed; the same records will be retried', { ring: source.name, err, retryInMs: delay });
    this.onFailure?.(source.name, err);
  }

  private drainOne(source: Source, now: number): boolean {
    // A fresh array per batch: an asynchronous handler keeps it until it settles.
    const batch: RingRecord[] = [];
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
    if (this.holds(batch, bytes)) {
      source.reader.rewind();
      source.heldUntil = now + (this.limits.delayMs! - (Date.now() - batch[0].receivedMs));
      return false;
    }
    source.heldUntil = 0;
    let result: void | Promise<void>;
    try {
      result = this.handle(source.name, batch);
    } catch (err) {
      source.reader.rewind();
      throw err;
    }
    if (result === undefined) {
      this.commit(source);
      return true;
    }
    source.busy = true;
    result.then(
      () => {
        source.busy = false;
        source.failures = 0;
        // Even after close(): the downstream has the batch, so a successor must not send it again.
        this.commit(source);
        this.wake();
      },
      (err: unknown) => {
        source.busy = false;
        source.reader.rewind();
        if (this.stopped) return;
        this.failed(source, err, performance.now());
        this.wake();
      },
    );
    return true;
  }

  /** Whether a partial batch should wait in the ring for more records (limits.delayMs). */
  private holds(batch: readonly RingRecord[], bytes: number): boolean {
    const delayMs = this.limits.delayMs ?? 0;
    if (delayMs === 0 || this.idleWaiters.length !== 0) return false;
    if (batch.length >= this.limits.records || bytes >= this.limits.bytes) return false;
    return Date.now() - batch[0].receivedMs < delayMs;
  }

  private commit(source: Source): void {
    if (source.reader.commit()) source.committed.ring();
  }
}

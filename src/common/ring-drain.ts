/**
 * Drains a set of rings into a handler, one bounded batch per ring per turn of the event
 * loop, and sleeps on the rings' doorbells when all are empty. The head of a ring moves
 * only after the handler returned (or its promise resolved) for the whole batch; a handler
 * that throws (or rejects) leaves the batch in the ring to be offered again after a backoff,
 * so nothing is lost to a transient failure such as a full disk.
 *
 * A ring may have up to `limits.inFlight` batches in an asynchronous handler at once (a
 * network exporter awaiting its downstream): the next batch goes out while the previous
 * one is in flight, and the batches themselves stay in the ring, not in a queue, so memory
 * stays bounded however long the downstream takes, and a slow downstream shows as a
 * filling ring (which ingest answers by spilling to the vault). The head moves strictly in
 * order, over the batches that resolved with all those before them: a crash loses nothing
 * the handler finished and offers again at most what was in flight. When a batch fails,
 * no new batch is taken until the ones out settle; then everything after the last
 * committed batch is offered again after the backoff (a later batch that had finished is
 * sent again: at least once, never lost).
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
  /**
   * Batches of one ring in an asynchronous handler at once (read-ahead); 1 when unset: the
   * next batch is read only once the previous one is committed. Each holds its records in
   * the ring and whatever the handler builds for it, so the caller counts it in its memory.
   */
  inFlight?: number;
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
  /** Batches handed out and not yet committed, oldest first. */
  flights: Flight[];
  /** A batch failed: no new batch until the flights settle, then rewind to the head. */
  failing: boolean;
  /** performance.now() until which a partial batch waits for more records (delayMs). */
  heldUntil: number;
}

/** One batch handed to the handler: where the ring's head goes once it (and all before it) is done. */
interface Flight {
  end: number;
  state: 'out' | 'done' | 'failed';
}

export class RingDrain {
  private readonly sources: Source[];
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly inFlight: number;

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
    this.inFlight = Math.max(1, limits.inFlight ?? 1);
    this.sources = [...ringPaths].map(([name, path]) => ({
      name,
      reader: attachRing(path).reader(),
      bell: new DoorbellListener(doorbellPath(path), () => this.wake()),
      committed: new DoorbellSender(commitBellPath(path)),
      failures: 0,
      retryAt: 0,
      flights: [],
      failing: false,
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
      if (source.flights.length !== 0) busy = true;
      if (source.failing || source.flights.length >= this.inFlight) continue;
      // A ring whose handler failed waits out its backoff; the others go on meanwhile.
      if (source.retryAt > now) {
        nextRetry = Math.min(nextRetry, source.retryAt);
        continue;
      }
      try {
        moved = this.drainOne(source, now) || moved;
        if (source.flights.length !== 0) busy = true;
        if (source.heldUntil > now) nextRetry = Math.min(nextRetry, source.heldUntil);
        // Room for another batch: a publish must ring the doorbell (read-ahead).
        else if (source.flights.length < this.inFlight) ready.push(source);
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
    const { reader } = source;
    const start = reader.position();
    // A fresh array per batch: an asynchronous handler keeps it until it settles.
    const batch: RingRecord[] = [];
    let bytes = 0;
    try {
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        batch.push(rec);
        bytes += rec.payload.byteLength;
        if (batch.length >= this.limits.records || bytes >= this.limits.bytes) break;
      }
    } catch (err) {
      if (!(err instanceof RingCorruptError)) throw err;
      // Only a bug or a foreign writer breaks the framing; retrying would loop forever, so
      // say loudly what is given up and keep the ring usable.
      this.log.error('ring framing is broken; skipping to its tail', { ring: source.name, err, unreadBytes: reader.unread() });
      reader.skipToTail();
      // Committed after the batches still out, like any other.
      this.settle(source, { end: reader.position(), state: 'done' });
      return true;
    }
    if (batch.length === 0) return false;
    if (this.holds(batch, bytes)) {
      reader.rewind(start);
      source.heldUntil = now + (this.limits.delayMs! - (Date.now() - batch[0].receivedMs));
      return false;
    }
    source.heldUntil = 0;
    let result: void | Promise<void>;
    try {
      result = this.handle(source.name, batch);
    } catch (err) {
      reader.rewind(start);
      throw err;
    }
    const flight: Flight = { end: reader.position(), state: 'out' };
    if (result === undefined) {
      this.settle(source, { ...flight, state: 'done' });
      return true;
    }
    source.flights.push(flight);
    result.then(
      () => {
        flight.state = 'done';
        // Even after close(): the downstream has the batch, so a successor must not send it again.
        this.settle(source);
        this.wake();
      },
      (err: unknown) => {
        flight.state = 'failed';
        const first = !source.failing;
        source.failing = true;
        this.settle(source);
        if (this.stopped) return;
        // Logged and backed off once per failure, not once per batch that was out with it.
        if (first) this.failed(source, err, performance.now());
        this.wake();
      },
    );
    return true;
  }

  /**
   * Commits the batches at the front that are done (`added`, a batch handled synchronously,
   * joins the end); once a failure has nothing left out, reads again from the head.
   */
  private settle(source: Source, added?: Flight): void {
    const { flights, reader } = source;
    if (added !== undefined) flights.push(added);
    let end: number | undefined;
    while (flights.length !== 0 && flights[0].state === 'done') end = flights.shift()!.end;
    if (end !== undefined) {
      source.failures = 0;
      if (reader.commit(end)) source.committed.ring();
    }
    if (source.failing && flights.every((f) => f.state !== 'out')) {
      flights.length = 0;
      source.failing = false;
      reader.rewind();
    }
  }

  /** Whether a partial batch should wait in the ring for more records (limits.delayMs). */
  private holds(batch: readonly RingRecord[], bytes: number): boolean {
    const delayMs = this.limits.delayMs ?? 0;
    if (delayMs === 0 || this.idleWaiters.length !== 0) return false;
    if (batch.length >= this.limits.records || bytes >= this.limits.bytes) return false;
    return Date.now() - batch[0].receivedMs < delayMs;
  }

}

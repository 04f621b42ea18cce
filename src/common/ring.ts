/**
 * Single-producer single-consumer ring of framed records in shared memory.
 *
 * The memory is a file in a tmpfs directory mapped by both processes, so a record that was
 * published survives the death of either side: the writer's successor appends after `tail`,
 * the reader's successor starts again at `head`.
 *
 *   file:  [ header page (4 KiB) ][ data area: capacity bytes, a power of two ]
 *   header: magic, version, capacity | head (own cache line) | tail (own cache line) | sleeping
 *
 *            head (reader commits)         tail (writer publishes)
 *              v                             v
 *   data: ... [rec][rec][rec][rec][rec][rec] ...free...
 *
 * head and tail are free-running 32-bit byte counters; position = counter & (capacity - 1)
 * and fill = (tail - head) >>> 0, which stays correct across 2^32 wrap because capacity is
 * at most 2^30. A record never straddles the end of the data area: when it would, the
 * writer leaves a wrap marker and starts the record at offset 0, so the reader can always
 * hand out one contiguous subarray without copying.
 *
 *   record: len u32 | kind u8 | flags u8 | reserved u16 | received_ms f64 | payload | pad to 8
 *
 * Ordering: payload and record header are plain stores; the tail is published with
 * Atomics.store after them, and the reader reads the tail with Atomics.load before reading
 * the record, so a reader never sees a half-written record. The head moves only when the
 * reader commits, i.e. after it handled every record up to there.
 */
import { closeSync, constants, openSync, readSync, truncateSync } from 'node:fs';
import { RingCorruptError, RingTooSmallError } from './errors';
import { PAGE_BYTES, mapShared, releasePages } from './native';
import type { RecordKind, RecordSink } from './record-kind';

const MAGIC = 0x47535247; // "GSRG"
const VERSION = 1;
export const RING_HEADER_BYTES = 4096;
const RECORD_HEADER_BYTES = 16;
const WRAP_MARKER = 0xffffffff;

// Int32 indices into the header; head, tail and sleeping sit on separate 64-byte lines so
// that the two processes do not bounce one cache line between cores on every record.
const H_MAGIC = 0;
const H_VERSION = 1;
const H_CAPACITY = 2;
const H_HEAD = 16;
const H_TAIL = 32;
const H_SLEEPING = 48;
/** Set by a writer awaiting a commit (CommitWaiter); the reader clears it and rings. */
const H_COMMIT_WANTED = 64;

export const MAX_RING_BYTES = 1 << 30;

export interface RingRecord {
  kind: RecordKind;
  flags: number;
  receivedMs: number;
  /** A view into shared memory: valid until the reader commits past this record. */
  payload: Uint8Array;
}

/**
 * Maps the ring file, formatting it when it does not hold a ring yet or holds an empty one
 * of another size. Only the supervisor calls this, before any child attaches.
 */
export function openRing(path: string, capacity: number): Ring {
  if (!validCapacity(capacity)) {
    throw new RingTooSmallError(`ring capacity must be a power of two from 4096 to ${MAX_RING_BYTES}, got ${capacity}`);
  }
  const probe = new Int32Array(mapShared(path, RING_HEADER_BYTES));
  if (probe[H_MAGIC] === MAGIC && probe[H_VERSION] === VERSION) {
    const empty = Atomics.load(probe, H_HEAD) === Atomics.load(probe, H_TAIL);
    // A ring holding records nobody has read yet keeps its size; an empty one takes the new
    // size (and gives back the tmpfs pages past it).
    if (probe[H_CAPACITY] === capacity || !empty) return attach(path, probe[H_CAPACITY]);
    truncateSync(path, RING_HEADER_BYTES + capacity);
  }
  const memory = mapShared(path, RING_HEADER_BYTES + capacity);
  const header = new Int32Array(memory, 0, RING_HEADER_BYTES / 4);
  header.fill(0);
  header[H_CAPACITY] = capacity;
  header[H_VERSION] = VERSION;
  Atomics.store(header, H_MAGIC, MAGIC);
  return new Ring(memory, capacity);
}

/** Maps an existing, formatted ring (children attach; only the supervisor formats). */
export function attachRing(path: string): Ring {
  const probe = new Int32Array(mapShared(path, RING_HEADER_BYTES));
  if (probe[H_MAGIC] !== MAGIC || probe[H_VERSION] !== VERSION) {
    throw new RingCorruptError(`${path} is not a GopherShip ring (bad magic or version)`);
  }
  return attach(path, probe[H_CAPACITY]);
}

/**
 * Bytes a ring file holds that its reader has not acknowledged, read from the header with
 * plain reads (nothing is mapped or written), or 0 for a file that holds no ring. For
 * looking at rings no engine runs: a live ring's count may change right after.
 */
export function heldBytes(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const header = new Int32Array(H_TAIL + 1);
    const got = readSync(fd, new Uint8Array(header.buffer), 0, header.byteLength, 0);
    if (got < header.byteLength || header[H_MAGIC] !== MAGIC || header[H_VERSION] !== VERSION) return 0;
    return (header[H_TAIL] - header[H_HEAD]) >>> 0;
  } finally {
    closeSync(fd);
  }
}

function validCapacity(capacity: number): boolean {
  return capacity >= 4096 && capacity <= MAX_RING_BYTES && (capacity & (capacity - 1)) === 0;
}

function attach(path: string, capacity: number): Ring {
  if (!validCapacity(capacity)) throw new RingCorruptError(`${path} has an invalid capacity ${capacity}`);
  return new Ring(mapShared(path, RING_HEADER_BYTES + capacity), capacity);
}

export class Ring {
  readonly capacity: number;
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private readonly view: DataView;
  private readonly mask: number;

  constructor(memory: ArrayBuffer, capacity: number) {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.header = new Int32Array(memory, 0, RING_HEADER_BYTES / 4);
    this.data = new Uint8Array(memory, RING_HEADER_BYTES, capacity);
    this.view = new DataView(memory, RING_HEADER_BYTES, capacity);
  }

  /** The reader's commit counter: every record that ends at or before it is handled. */
  head(): number {
    return Atomics.load(this.header, H_HEAD) >>> 0;
  }

  /**
   * A writer waits for the reader to commit: the next commit rings the commit bell. The
   * caller must look at head() again after this, or a commit in between goes unnoticed.
   */
  wantCommitBell(): void {
    Atomics.store(this.header, H_COMMIT_WANTED, 1);
  }

  /** Bytes published and not yet committed by the reader. */
  used(): number {
    return (Atomics.load(this.header, H_TAIL) - Atomics.load(this.header, H_HEAD)) >>> 0;
  }


  /** The largest payload that can ever fit (a record never wraps, so half the ring). */
  maxPayload(): number {
    return this.capacity / 2 - RECORD_HEADER_BYTES;
  }

  writer(onPublishToSleeper?: () => void): RingWriter {
    return new RingWriter(this, onPublishToSleeper);
  }

  reader(): RingReader {
    return new RingReader(this);
  }

  /** @internal shared with writer and reader; not part of the API. */
  get parts(): RingParts {
    return { header: this.header, data: this.data, view: this.view, mask: this.mask, capacity: this.capacity };
  }
}

interface RingParts {
  header: Int32Array;
  data: Uint8Array;
  view: DataView;
  mask: number;
  capacity: number;
}

export class RingWriter implements RecordSink {
  /** The tail counter after the last record this writer published: where that record ends. */
  published = 0;
  private readonly p: RingParts;
  private readonly onPublishToSleeper?: () => void;

  constructor(ring: Ring, onPublishToSleeper?: () => void) {
    this.p = ring.parts;
    this.onPublishToSleeper = onPublishToSleeper;
  }

  offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number, receivedMs = Date.now()): boolean {
    const { header, data, view, mask, capacity } = this.p;
    const tail = Atomics.load(header, H_TAIL) >>> 0;
    const head = Atomics.load(header, H_HEAD) >>> 0;
    const free = capacity - ((tail - head) >>> 0);
    const size = align8(RECORD_HEADER_BYTES + length);
    let pos = tail & mask;
    const toEnd = capacity - pos;
    const skip = toEnd < size ? toEnd : 0;
    if (size > capacity / 2 || skip + size > free) return false;
    if (skip > 0) {
      view.setUint32(pos, WRAP_MARKER, true);
      pos = 0;
    }
    view.setUint32(pos, length, true);
    view.setUint8(pos + 4, kind);
    view.setUint8(pos + 5, flags);
    view.setUint16(pos + 6, 0, true);
    view.setFloat64(pos + 8, receivedMs, true);
    let at = pos + RECORD_HEADER_BYTES;
    for (const chunk of chunks) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    if (at - pos - RECORD_HEADER_BYTES !== length) {
      throw new RangeError(`chunks hold ${at - pos - RECORD_HEADER_BYTES} bytes, not the ${length} announced`);
    }
    this.published = (tail + skip + size) >>> 0;
    Atomics.store(header, H_TAIL, this.published | 0);
    if (this.onPublishToSleeper !== undefined && Atomics.compareExchange(header, H_SLEEPING, 1, 0) === 1) {
      this.onPublishToSleeper();
    }
    return true;
  }

  /**
   * Gives the pages of the ring's free part back to the kernel: tmpfs pages stay charged to
   * the memory cgroup once touched, so after a burst the rings would otherwise hold their
   * peak for good. Only the writer may: the free part, from the tail round to the head, is
   * its own until it publishes, and the reader never reads past the tail. The pages come
   * back (zeroed, at a first-touch fault each) when the writer next writes there, so call it
   * when the writer has been idle, not per record. Returns the bytes released.
   */
  releaseFree(): number {
    const { header, data, mask, capacity } = this.p;
    const tail = Atomics.load(header, H_TAIL) >>> 0;
    const head = Atomics.load(header, H_HEAD) >>> 0;
    // In unwrapped positions: from the tail's position, `free` bytes on, past the end and round.
    const from = Math.ceil((tail & mask) / PAGE_BYTES) * PAGE_BYTES;
    const to = Math.floor(((tail & mask) + capacity - ((tail - head) >>> 0)) / PAGE_BYTES) * PAGE_BYTES;
    let released = 0;
    for (let at = from; at < to; ) {
      const start = at % capacity;
      const bytes = Math.min(to - at, capacity - start);
      releasePages(data, start, bytes);
      released += bytes;
      at += bytes;
    }
    return released;
  }
}

export class RingReader {
  private readonly p: RingParts;
  /** Position of the next record to hand out; runs ahead of head until commit(). */
  private cursor: number;

  constructor(ring: Ring) {
    this.p = ring.parts;
    this.cursor = Atomics.load(this.p.header, H_HEAD) >>> 0;
  }

  /** The next record after the ones already handed out, or null when none is published. */
  next(): RingRecord | null {
    const { header, view, data, mask, capacity } = this.p;
    const tail = Atomics.load(header, H_TAIL) >>> 0;
    if (this.cursor === tail) return null;
    let pos = this.cursor & mask;
    let length = view.getUint32(pos, true);
    if (length === WRAP_MARKER) {
      this.cursor = (this.cursor + capacity - pos) >>> 0;
      if (this.cursor === tail) throw this.corrupt('wrap marker at the tail');
      pos = 0;
      length = view.getUint32(0, true);
    }
    const size = align8(RECORD_HEADER_BYTES + length);
    if (size > capacity / 2 || size > ((tail - this.cursor) >>> 0)) {
      throw this.corrupt(`record of ${length} bytes at offset ${pos} runs past the tail`);
    }
    const record: RingRecord = {
      kind: view.getUint8(pos + 4) as RecordKind,
      flags: view.getUint8(pos + 5),
      receivedMs: view.getFloat64(pos + 8, true),
      payload: data.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length),
    };
    this.cursor = (this.cursor + size) >>> 0;
    return record;
  }

  /**
   * Every record handed out so far (or up to `upTo`, a position() taken between two
   * records, for a reader with several batches out) is handled: let the writer reuse their space. Returns
   * true when a writer asked to be told (wantCommitBell), and the caller rings its bell.
   */
  commit(upTo: number = this.cursor): boolean {
    const { header } = this.p;
    Atomics.store(header, H_HEAD, upTo | 0);
    return Atomics.load(header, H_COMMIT_WANTED) === 1 && Atomics.compareExchange(header, H_COMMIT_WANTED, 1, 0) === 1;
  }

  /**
   * Hands out the uncommitted records again (the handler failed and will retry), or those
   * from `to` on, a position() taken earlier and not yet committed.
   */
  rewind(to: number = Atomics.load(this.p.header, H_HEAD) >>> 0): void {
    this.cursor = to >>> 0;
  }

  /** Where the next record will be read from: for commit(upTo) and rewind(to). */
  position(): number {
    return this.cursor;
  }

  /**
   * Announces that the reader is about to sleep. Returns false when a record arrived in the
   * meantime (the caller must not sleep); otherwise the next publish rings the doorbell.
   */
  prepareToSleep(): boolean {
    const { header } = this.p;
    Atomics.store(header, H_SLEEPING, 1);
    if ((Atomics.load(header, H_TAIL) >>> 0) !== this.cursor) {
      Atomics.store(header, H_SLEEPING, 0);
      return false;
    }
    return true;
  }

  /** Bytes published and not yet handed out by this reader. */
  unread(): number {
    return (Atomics.load(this.p.header, H_TAIL) - this.cursor) >>> 0;
  }

  /**
   * Drops everything unread: only for a ring whose framing is broken beyond use. The caller
   * commits (after any batches still out).
   */
  skipToTail(): void {
    this.cursor = Atomics.load(this.p.header, H_TAIL) >>> 0;
  }

  private corrupt(what: string): RingCorruptError {
    return new RingCorruptError(`ring framing is broken: ${what}`);
  }
}

/** Whether counter `a` is at or past `b`, across the 2^32 wrap (they are never 2^31 apart). */
export function reached(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Appends records to vault segments through O_DIRECT, many records per write (group commit).
 *
 * Records are copied into one aligned staging buffer, allocated once. A write sends what is
 * staged, rounded up to the alignment with zeros; the partial block at the end stays in the
 * buffer and the next write sends it again, at the same offset, with more behind it. So the
 * logical end of the file advances by exactly the bytes appended while every transfer stays
 * aligned. A rewrite changes only bytes past the previous logical end, which were zeros: a
 * write torn by a crash leaves every sector holding either its old or its new contents, and
 * both are a valid prefix of the segment.
 *
 * Where the filesystem refuses O_DIRECT the writer falls back to buffered writes, each
 * followed by sync_file_range and a page-cache drop of the range it wrote: the vault exists
 * to take load while memory is short, so its bytes must not linger in the page cache.
 *
 * Two ways to drive it. append()/flush()/close() are synchronous and block for as long as
 * the device takes (tools and tests that build a vault). appendBatch()/closeAsync() are what
 * the vault process uses: nothing waits on the disk on the event loop. Every write, sync,
 * roll and close goes through libuv's thread pool; `buffers` staging buffers rotate, so while
 * up to buffers - 1 writes are in flight the next batch is staged in the last one, and one
 * fdatasync covers every batch written before it started (group commit across rings).
 * Writes in flight may land in any order, but a record counts as written only once every
 * write up to its last byte completed, and a write that rewrites the partial block of the
 * one before it is issued only after that one completed: whatever a crash leaves, the
 * records up to the first one not written whole are a valid prefix, and recovery truncates
 * the rest.
 */
import { close, closeSync, constants, fdatasync as fdatasyncCb, fsync, open, openSync, statSync, write, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { makeDirs } from '../common/make-dirs';
import { syncDirectory } from '../common/sync-directory';
import { join } from 'node:path';
import { SyscallError, VaultClosedError, VaultFullError, VaultIoError, invalidArgument } from '../common/errors';
import { createLogger } from '../common/log';
import { DIRECT_IO_ALIGNMENT, allocAligned, fadviseDontNeed, fdatasync, openDirect, pwrite, syncFileRange } from '../common/native';
import { RecordKind } from '../common/record-kind';
import {
  MAX_PAYLOAD_BYTES,
  RECORD_ALIGNMENT,
  RECORD_HEADER_BYTES,
  RecordFramer,
  SEGMENT_HEADER_BYTES,
  alignUp,
  encodeSegmentHeader,
  framedBytes,
  segmentFileName,
  type VaultInput,
} from './segment-format';

/**
 * When written bytes are made durable with fdatasync: `always` before flush() returns,
 * `interval` at most every syncIntervalMs (on flush() or syncIfDue()), `never` only when a
 * segment is created. Rolling to the next segment and close() sync under all but `never`.
 */
export type SyncPolicy = 'always' | 'interval' | 'never';

export interface SegmentWriterOptions {
  /** Directory of the segments; created when missing. */
  readonly dir: string;
  /** Sequence number for the first record appended: one past the last recovered. Default 1. */
  readonly firstSeq?: number;
  /**
   * Roll to a new segment before a record would take the current one past this many bytes.
   * A record that alone is larger gets a segment of its own rather than being refused.
   */
  readonly segmentBytes?: number;
  /**
   * Bound on the disk bytes of all segments (usedBytes included): append() returns false
   * rather than exceed it. Nothing is ever deleted to make room.
   */
  readonly maxBytes?: number;
  /** Bytes of segments already in `dir` when the writer opens (not yet replayed). */
  readonly usedBytes?: number;
  readonly sync?: SyncPolicy;
  readonly syncIntervalMs?: number;
  /** Size of the staging buffer: the most one write carries. A multiple of `alignment`. */
  readonly bufferBytes?: number;
  /**
   * Granularity of every write. 4096 by default: devices with 4 KiB sectors refuse smaller
   * O_DIRECT transfers, and on 512-byte devices it spares them a read-modify-write.
   */
  readonly alignment?: number;
  /** false forces the buffered path that a filesystem refusing O_DIRECT gets anyway. */
  readonly directIo?: boolean;
  /**
   * Staging buffers of bufferBytes each (default 1). appendBatch() needs at least 2: with
   * 3, two writes are in flight while the next batch is staged.
   */
  readonly buffers?: number;
}

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasyncCb);
const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsyncFd = promisify(close);

/** A write in flight: the buffer it holds and the last record it completes. */
interface PendingWrite {
  readonly buffer: Uint8Array;
  readonly lastSeq: number;
  /** File offset one past its last byte. */
  readonly end: number;
  readonly done: Promise<void>;
  settled: boolean;
}

/** A batch waiting until its last record is written (and synced, when `sync`). */
interface Waiter {
  readonly seq: number;
  readonly sync: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

const log = createLogger('vault-writer');

const MIB = 1024 * 1024;
const MAX_ALIGNMENT = SEGMENT_HEADER_BYTES;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const PADDING = new Uint8Array(RECORD_ALIGNMENT);
const KINDS: ReadonlySet<number> = new Set(Object.values(RecordKind));
const SYNC_POLICIES: readonly SyncPolicy[] = ['always', 'interval', 'never'];

export class SegmentWriter {
  readonly dir: string;
  private readonly segmentLimit: number;
  private readonly maxBytes: number;
  private readonly syncPolicy: SyncPolicy;
  private readonly syncIntervalMs: number;
  private readonly alignment: number;
  private staging: Uint8Array;
  /** Staging buffers no write holds (appendBatch). */
  private readonly spare: Uint8Array[] = [];
  /** Writes in flight, in the order they were issued. */
  private readonly pending: PendingWrite[] = [];
  private readonly waiters: Waiter[] = [];
  /** Batches are staged one after the other; each waits for its writes outside of it. */
  private stagingLock: Promise<unknown> = Promise.resolve();
  private syncing: Promise<void> | null = null;
  private readonly framer = new RecordFramer();
  private direct: boolean;

  private state: 'open' | 'closed' | 'failed' = 'open';
  private failure: VaultIoError | null = null;
  private fd: number | null = null;
  private path: string | null = null;
  /** File offset of staging[0]: always a multiple of the alignment. */
  private stagingAt = 0;
  private fill = 0;
  /** Bytes staged since the last write. */
  private dirty = false;
  /** Bytes written to the open segment since its last fdatasync. */
  private unsynced = false;
  private lastSyncMs = 0;
  private segmentRecords = 0;
  /** Disk bytes counted against maxBytes, apart from the open segment. */
  private otherBytes: number;
  private nextSeq: number;
  private flushed: number;
  private synced: number;
  private records = 0;
  private bytes = 0;
  private writes = 0;

  constructor(options: SegmentWriterOptions) {
    const { dir, firstSeq = 1, segmentBytes = 64 * MIB, maxBytes = Infinity, usedBytes = 0 } = options;
    const { sync = 'always', syncIntervalMs = 1000, bufferBytes = MIB, alignment = 4096, directIo = true, buffers = 1 } = options;
    if (typeof dir !== 'string' || dir === '') throw invalidArgument('a directory path', 'dir', dir);
    checkInteger(firstSeq, 'firstSeq', 1);
    const isAlignment = Number.isInteger(alignment) && alignment >= DIRECT_IO_ALIGNMENT && alignment <= MAX_ALIGNMENT && (alignment & (alignment - 1)) === 0;
    if (!isAlignment) throw invalidArgument(`a power of two from ${DIRECT_IO_ALIGNMENT} to ${MAX_ALIGNMENT}`, 'alignment', alignment);
    checkInteger(bufferBytes, 'bufferBytes', SEGMENT_HEADER_BYTES);
    if (bufferBytes % alignment !== 0) throw invalidArgument(`a multiple of the alignment ${alignment}`, 'bufferBytes', bufferBytes);
    checkInteger(segmentBytes, 'segmentBytes', SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES);
    if (maxBytes !== Infinity) checkInteger(maxBytes, 'maxBytes', 1);
    checkInteger(usedBytes, 'usedBytes', 0);
    if (!SYNC_POLICIES.includes(sync)) throw invalidArgument(`one of ${SYNC_POLICIES.join(', ')}`, 'sync', sync);
    checkInteger(syncIntervalMs, 'syncIntervalMs', 1);
    if (typeof directIo !== 'boolean') throw invalidArgument('a boolean', 'directIo', directIo);
    checkInteger(buffers, 'buffers', 1);

    this.dir = dir;
    this.segmentLimit = segmentBytes;
    this.maxBytes = maxBytes;
    this.otherBytes = usedBytes;
    this.syncPolicy = sync;
    this.syncIntervalMs = syncIntervalMs;
    this.alignment = alignment;
    this.direct = directIo;
    this.nextSeq = firstSeq;
    this.flushed = firstSeq - 1;
    this.synced = firstSeq - 1;
    try {
      makeDirs(dir, DIR_MODE);
    } catch (err) {
      throw new VaultIoError(`cannot create the vault directory ${dir}: ${(err as Error).message}`, err);
    }
    // Page-aligned whatever the write alignment, so the same buffer serves 4 KiB devices.
    this.staging = new Uint8Array(allocAligned(bufferBytes, MAX_ALIGNMENT));
    // Anonymous mappings: a spare costs nothing until a write first fills it.
    for (let i = 1; i < buffers; i++) this.spare.push(new Uint8Array(allocAligned(bufferBytes, MAX_ALIGNMENT)));
  }

  /** The segment being appended to; null before the first record. */
  get segmentPath(): string | null {
    return this.path;
  }

  /** Logical size of the open segment: header and framed records, without write padding. */
  get logicalEnd(): number {
    return this.fd === null ? 0 : this.stagingAt + this.fill;
  }

  /** Sequence number of the last record appended (staged or written). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Every record up to this one is in its segment file (not necessarily on the device). */
  get flushedSeq(): number {
    return this.flushed;
  }

  /** Every record up to this one has been through fdatasync. */
  get syncedSeq(): number {
    return this.synced;
  }

  /** Records appended by this writer. */
  get recordsWritten(): number {
    return this.records;
  }

  /** Logical bytes this writer appended to its segments: headers and framed records. */
  get bytesWritten(): number {
    return this.bytes;
  }

  /** Write system calls made: with group commit, far fewer than records. */
  get writeCalls(): number {
    return this.writes;
  }

  /** Disk bytes counted against maxBytes: usedBytes, less releases, plus every segment written. */
  get diskBytes(): number {
    return this.otherBytes + (this.fd === null ? 0 : alignUp(this.logicalEnd, this.alignment));
  }

  /** False once a filesystem refused O_DIRECT (or directIo was false). */
  get directIo(): boolean {
    return this.direct;
  }

  /**
   * Appends a record, staged until the next flush() or until the buffer fills. Returns false,
   * appending nothing, when it would take the vault past maxBytes: the caller holds back.
   */
  append(record: VaultInput): boolean {
    this.checkUsable();
    const place = this.placeOf(record);
    if (place === 'full') return false;
    try {
      if (place === 'roll') this.finishSegment();
      if (this.fd === null) this.startSegment();
      this.stage(this.framer.frame(this.nextSeq, record));
      this.stage(record.payload);
      this.stage(this.paddingOf(record));
    } catch (err) {
      throw this.fail(err);
    }
    this.appended(record);
    return true;
  }

  /**
   * Appends every record of the batch, or none when it would take the vault past maxBytes
   * (rejects with VaultFullError: the caller keeps the batch and offers it again later).
   * Resolves once each record is written, and synced under `always`; rejects with a
   * VaultIoError, and the writer is failed, if a write or sync failed. Needs buffers >= 2.
   */
  appendBatch(batch: readonly VaultInput[]): Promise<void> {
    const staged = this.stagingLock.then(() => this.stageBatch(batch));
    this.stagingLock = staged.catch(() => undefined);
    return staged.then((lastSeq) => this.written(lastSeq, this.syncPolicy === 'always'));
  }

  /** Writes and syncs what is staged (unless `never`) and closes the segment, off the event loop. */
  async closeAsync(): Promise<void> {
    // Batches handed in while the earlier ones were staged are written before the close.
    for (let lock = this.stagingLock; ; lock = this.stagingLock) {
      await lock;
      if (lock === this.stagingLock) break;
    }
    if (this.state !== 'open') return;
    this.state = 'closed';
    if (this.fd === null) return;
    try {
      await this.finishSegmentAsync();
    } catch (err) {
      throw this.fail(err);
    }
  }

  private async stageBatch(batch: readonly VaultInput[]): Promise<number> {
    this.checkUsable();
    if (this.spare.length === 0 && this.pending.length === 0) throw invalidArgument('at least 2', 'buffers', 1);
    for (const record of batch) checkRecord(record);
    const needed = this.batchBound(batch);
    if (this.diskBytes + needed > this.maxBytes) {
      throw new VaultFullError(`vault holds ${this.diskBytes} of vault.max_bytes ${this.maxBytes}; the records wait in their ring until replay frees space`);
    }
    try {
      for (const record of batch) {
        // Within the bound checked above, so never 'full'.
        if (this.placeOf(record) === 'roll') await this.finishSegmentAsync();
        if (this.fd === null) await this.startSegmentAsync();
        await this.stageAsync(this.framer.frame(this.nextSeq, record));
        await this.stageAsync(record.payload);
        await this.stageAsync(this.paddingOf(record));
        this.appended(record);
      }
      if (this.dirty) await this.issueStaged();
    } catch (err) {
      throw this.fail(err);
    }
    return this.lastSeq;
  }

  /**
   * Disk bytes the batch can take at most: all or nothing, a batch half-appended and then
   * offered again would be stored twice. Each segment roll in it can cost a padded block
   * and a segment header on top of the records.
   */
  private batchBound(batch: readonly VaultInput[]): number {
    let records = 0;
    for (const record of batch) records += framedBytes(record.payload.byteLength);
    const rolls = 2 + Math.floor(records / this.segmentLimit);
    return records + rolls * (SEGMENT_HEADER_BYTES + this.alignment);
  }

  /** Where the record goes: the open segment, a fresh one (the first or after a roll), or nowhere. */
  private placeOf(record: VaultInput): 'here' | 'roll' | 'fresh' | 'full' {
    checkRecord(record);
    const framed = framedBytes(record.payload.byteLength);
    const end = this.logicalEnd;
    const roll = this.fd !== null && this.segmentRecords > 0 && end + framed > this.segmentLimit;
    const fresh = this.fd === null || roll;
    const projected = fresh ? this.diskBytes + alignUp(SEGMENT_HEADER_BYTES + framed, this.alignment) : this.otherBytes + alignUp(end + framed, this.alignment);
    if (projected > this.maxBytes) return 'full';
    return roll ? 'roll' : fresh ? 'fresh' : 'here';
  }

  private paddingOf(record: VaultInput): Uint8Array {
    return PADDING.subarray(0, framedBytes(record.payload.byteLength) - RECORD_HEADER_BYTES - record.payload.byteLength);
  }

  private appended(record: VaultInput): void {
    this.nextSeq++;
    this.segmentRecords++;
    this.records++;
    this.bytes += framedBytes(record.payload.byteLength);
  }

  /** Writes everything staged (padding the last block) and syncs as the policy says. */
  flush(): void {
    this.checkUsable();
    if (this.fd === null) return;
    try {
      if (this.dirty) this.writeStaged();
      if (this.syncPolicy === 'always') this.syncNow(Date.now());
      else if (this.syncPolicy === 'interval') this.syncWhenDue(Date.now());
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * Under the `interval` policy, fdatasyncs what was written if the last sync is at least
   * syncIntervalMs old; the caller drives this from its own timer. Returns whether it synced.
   */
  syncIfDue(nowMs = Date.now()): boolean {
    this.checkUsable();
    if (this.syncPolicy !== 'interval' || this.fd === null) return false;
    if (this.spare.length + this.pending.length > 0) {
      // Pipelined: the sync runs in the thread pool; a failure fails the writer.
      if (this.syncing !== null || this.flushed === this.synced || nowMs - this.lastSyncMs < this.syncIntervalMs) return false;
      void this.syncWritten().catch(() => undefined);
      return true;
    }
    try {
      return this.syncWhenDue(nowMs);
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Replayed segments holding `bytes` were removed: they no longer count against maxBytes. */
  releaseBytes(bytes: number): void {
    checkInteger(bytes, 'bytes', 0);
    this.otherBytes = Math.max(0, this.otherBytes - bytes);
  }

  /** Writes what is staged, syncs unless the policy is `never`, and closes the segment. */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    if (this.fd === null) return;
    try {
      this.finishSegment();
    } catch (err) {
      throw this.fail(err);
    }
  }

  private stage(bytes: Uint8Array): void {
    const capacity = this.staging.byteLength;
    for (let from = 0; from < bytes.byteLength; ) {
      if (this.fill === capacity) this.writeStaged();
      const n = Math.min(bytes.byteLength - from, capacity - this.fill);
      this.staging.set(n === bytes.byteLength ? bytes : bytes.subarray(from, from + n), this.fill);
      this.fill += n;
      from += n;
      this.dirty = true;
    }
  }

  private writeStaged(): void {
    const length = alignUp(this.fill, this.alignment);
    this.staging.fill(0, this.fill, length);
    this.writeAt(this.fd!, this.staging.subarray(0, length), this.stagingAt);
    // A record still being staged has a seq past lastSeq, so this covers whole records only.
    this.flushed = this.lastSeq;
    this.dirty = false;
    this.unsynced = true;
    const whole = this.fill - (this.fill % this.alignment);
    if (whole > 0) {
      this.staging.copyWithin(0, whole, this.fill);
      this.stagingAt += whole;
      this.fill -= whole;
    }
  }

  private writeAt(fd: number, bytes: Uint8Array, at: number): void {
    if (this.direct) {
      const written = pwrite(fd, bytes, at);
      if (written !== bytes.byteLength) {
        throw new VaultIoError(`short write to ${this.path}: ${written} of ${bytes.byteLength} bytes at ${at} (device full?)`);
      }
    } else {
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done, at + done);
      syncFileRange(fd, at, bytes.byteLength);
      fadviseDontNeed(fd, at, bytes.byteLength);
    }
    this.writes++;
  }

  private syncWhenDue(nowMs: number): boolean {
    if (!this.unsynced || nowMs - this.lastSyncMs < this.syncIntervalMs) return false;
    this.syncNow(nowMs);
    return true;
  }

  private syncNow(nowMs: number): void {
    if (!this.unsynced) return;
    fdatasync(this.fd!);
    this.synced = this.flushed;
    this.unsynced = false;
    this.lastSyncMs = nowMs;
  }

  /** Copies bytes into the staging buffers, handing each full one to a write. */
  private async stageAsync(bytes: Uint8Array): Promise<void> {
    const capacity = this.staging.byteLength;
    for (let from = 0; from < bytes.byteLength; ) {
      if (this.fill === capacity) await this.issueStaged();
      const n = Math.min(bytes.byteLength - from, capacity - this.fill);
      this.staging.set(n === bytes.byteLength ? bytes : bytes.subarray(from, from + n), this.fill);
      this.fill += n;
      from += n;
      this.dirty = true;
    }
  }

  /**
   * Hands what is staged to a write and goes on in a spare buffer (waiting for the oldest
   * write when none is spare), the partial block at the end carried over to be written
   * again with more behind it.
   */
  private async issueStaged(): Promise<void> {
    const next = this.spare.pop() ?? (await this.oldestDone());
    const length = alignUp(this.fill, this.alignment);
    const whole = this.fill - (this.fill % this.alignment);
    const buffer = this.staging;
    buffer.fill(0, this.fill, length);
    next.set(buffer.subarray(whole, this.fill), 0);
    this.issueWrite(buffer, length, this.stagingAt);
    this.staging = next;
    this.stagingAt += whole;
    this.fill -= whole;
    this.dirty = false;
  }

  private async oldestDone(): Promise<Uint8Array> {
    while (this.spare.length === 0) await this.pending[0].done;
    return this.spare.pop()!;
  }

  private issueWrite(buffer: Uint8Array, length: number, at: number): void {
    const fd = this.fd!;
    const previous = this.pending.at(-1);
    const send = (): Promise<void> => this.writeAtAsync(fd, buffer.subarray(0, length), at);
    // The previous write's last block is this one's first: they must land in order.
    const started = previous !== undefined && at < previous.end ? previous.done.then(send) : send();
    const entry: PendingWrite = { buffer, lastSeq: this.lastSeq, end: at + length, done: started, settled: false };
    this.pending.push(entry);
    entry.done.then(
      () => {
        entry.settled = true;
        this.spare.push(entry.buffer);
        this.advanceWritten();
      },
      (err: unknown) => this.failPipeline(err),
    );
  }

  private async writeAtAsync(fd: number, bytes: Uint8Array, at: number): Promise<void> {
    this.writes++;
    if (this.direct) {
      const { bytesWritten } = await writeAsync(fd, bytes, 0, bytes.byteLength, at);
      if (bytesWritten !== bytes.byteLength) {
        throw new VaultIoError(`short write to ${this.path}: ${bytesWritten} of ${bytes.byteLength} bytes at ${at} (device full?)`);
      }
      return;
    }
    for (let done = 0; done < bytes.byteLength; ) done += (await writeAsync(fd, bytes, done, bytes.byteLength - done, at + done)).bytesWritten;
    // Still on the event loop: the buffered fallback keeps its page-cache drop synchronous.
    syncFileRange(fd, at, bytes.byteLength);
    fadviseDontNeed(fd, at, bytes.byteLength);
  }

  /** Records are written up to the last write of an unbroken run of completed ones. */
  private advanceWritten(): void {
    while (this.pending.length > 0 && this.pending[0].settled) this.flushed = this.pending.shift()!.lastSeq;
    this.unsynced = true;
    if (this.syncPolicy === 'interval' && this.syncing === null && Date.now() - this.lastSyncMs >= this.syncIntervalMs) void this.syncWritten().catch(() => undefined);
    this.wakeWaiters();
  }

  private written(seq: number, sync: boolean): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, sync, resolve, reject });
      this.wakeWaiters();
    });
  }

  private wakeWaiters(): void {
    let needSync = false;
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      if ((w.sync ? this.synced : this.flushed) >= w.seq) {
        this.waiters.splice(i, 1);
        w.resolve();
        continue;
      }
      if (w.sync && this.flushed >= w.seq) needSync = true;
      i++;
    }
    if (needSync && this.syncing === null) void this.syncWritten().catch(() => undefined);
  }

  /** One fdatasync for everything written when it starts: every batch it covers commits together. */
  private syncWritten(): Promise<void> {
    if (this.syncing !== null) return this.syncing.then(() => this.syncWritten());
    const fd = this.fd;
    const target = this.flushed;
    if (fd === null || target === this.synced) return Promise.resolve();
    const run = fdatasyncAsync(fd).then(
      () => {
        this.syncing = null;
        this.synced = Math.max(this.synced, target);
        this.lastSyncMs = Date.now();
        this.wakeWaiters();
      },
      (err: unknown) => {
        this.syncing = null;
        this.failPipeline(err);
        throw err;
      },
    );
    this.syncing = run;
    return run;
  }

  private async finishSegmentAsync(): Promise<void> {
    if (this.dirty) await this.issueStaged();
    // Writes complete in any order: all of them, not the last one issued.
    await Promise.all(this.pending.map((p) => p.done));
    if (this.syncPolicy !== 'never') {
      while (this.syncing !== null) await this.syncing;
      await this.syncWritten();
    }
    // A sync a waiter started meanwhile runs on this fd: it must end before the fd closes.
    while (this.syncing !== null) await this.syncing;
    const fd = this.fd!;
    this.otherBytes += alignUp(this.logicalEnd, this.alignment);
    this.fd = null;
    await closeAsyncFd(fd);
    this.wakeWaiters();
  }

  private async startSegmentAsync(): Promise<void> {
    const path = join(this.dir, segmentFileName(this.nextSeq));
    const fd = await this.openForWriteAsync(path);
    try {
      encodeSegmentHeader(this.staging, { firstSeq: this.nextSeq, createdMs: Date.now(), writeAlignment: this.alignment });
      await this.writeAtAsync(fd, this.staging.subarray(0, SEGMENT_HEADER_BYTES), 0);
      // As in startSegment: the header is durable before any record goes behind it.
      await fdatasyncAsync(fd);
      await syncDirectoryAsync(this.dir);
    } catch (err) {
      await closeAsyncFd(fd);
      throw err;
    }
    this.opened(fd, path);
  }

  /** Creates the segment exclusively (claimSegmentFile's rules) and opens it for writing. */
  private async openForWriteAsync(path: string): Promise<number> {
    try {
      await closeAsyncFd(await openAsync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await stat(path)).size > SEGMENT_HEADER_BYTES) throw occupied(path);
    }
    if (this.direct) {
      try {
        return await openAsync(path, constants.O_WRONLY | constants.O_DIRECT);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.refusedDirect(err);
      }
    }
    return openAsync(path, constants.O_WRONLY);
  }

  private failPipeline(err: unknown): void {
    const failure = this.fail(err);
    for (const w of this.waiters.splice(0)) w.reject(failure);
  }

  private startSegment(): void {
    const path = join(this.dir, segmentFileName(this.nextSeq));
    claimSegmentFile(path);
    const fd = this.openForWrite(path);
    try {
      encodeSegmentHeader(this.staging, { firstSeq: this.nextSeq, createdMs: Date.now(), writeAlignment: this.alignment });
      this.writeAt(fd, this.staging.subarray(0, SEGMENT_HEADER_BYTES), 0);
      // Synced before any record is written behind it, even under `never`: a header that is
      // not intact then proves the file never got a record, and recovery can tell a segment
      // whose creation was cut short from one that is damaged.
      fdatasync(fd);
      syncDirectory(this.dir);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.opened(fd, path);
  }

  private opened(fd: number, path: string): void {
    this.fd = fd;
    this.path = path;
    this.stagingAt = SEGMENT_HEADER_BYTES;
    this.fill = 0;
    this.dirty = false;
    this.unsynced = false;
    this.segmentRecords = 0;
    this.bytes += SEGMENT_HEADER_BYTES;
    log.debug('segment created', { path, directIo: this.direct });
  }

  private openForWrite(path: string): number {
    if (this.direct) {
      try {
        return openDirect(path, { write: true });
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === 'EINVAL')) throw err;
        this.refusedDirect(err);
      }
    }
    return openSync(path, constants.O_WRONLY);
  }

  private refusedDirect(err: unknown): void {
    this.direct = false;
    log.warn('the filesystem refuses O_DIRECT: vault segments are written buffered, each write synced and dropped from the page cache', { dir: this.dir, err });
  }

  private finishSegment(): void {
    if (this.dirty) this.writeStaged();
    if (this.syncPolicy !== 'never') this.syncNow(Date.now());
    const fd = this.fd!;
    this.otherBytes += alignUp(this.logicalEnd, this.alignment);
    this.fd = null;
    closeSync(fd);
  }

  private checkUsable(): void {
    if (this.state === 'closed') throw new VaultClosedError(`vault writer for ${this.dir} used after close`);
    if (this.failure !== null) throw new VaultIoError(`vault writer for ${this.dir} failed earlier: ${this.failure.message}`, this.failure);
  }

  private fail(err: unknown): VaultIoError {
    const failure = err instanceof VaultIoError ? err : new VaultIoError(`vault segment ${this.path ?? this.dir}: ${(err as Error).message}`, err);
    this.failure = failure;
    this.state = 'failed';
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      try {
        closeSync(fd);
      } catch {
        // The write error is the one the caller needs; a failing close adds nothing to it.
      }
    }
    return failure;
  }
}

/**
 * Creates `path` exclusively. A file already there is taken over only when it holds no
 * record: a crash between creating a segment and writing its first record leaves one, and
 * its name is the seq the next writer starts at.
 */
function claimSegmentFile(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (statSync(path).size > SEGMENT_HEADER_BYTES) throw occupied(path);
}

function occupied(path: string): VaultIoError {
  return new VaultIoError(`${path} already exists and holds records; refusing to overwrite it (firstSeq is behind the vault's last record)`);
}

/** syncDirectory through the thread pool. */
async function syncDirectoryAsync(dir: string): Promise<void> {
  const fd = await openAsync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsyncFd(fd);
  }
}

function checkRecord(record: VaultInput): void {
  if (!KINDS.has(record.kind)) throw invalidArgument('a RecordKind', 'record.kind', record.kind);
  if (!Number.isInteger(record.flags) || record.flags < 0 || record.flags > 0xff) throw invalidArgument('an integer from 0 to 255', 'record.flags', record.flags);
  if (!Number.isFinite(record.receivedMs)) throw invalidArgument('a finite number', 'record.receivedMs', record.receivedMs);
  if (!(record.payload instanceof Uint8Array)) throw invalidArgument('a Uint8Array', 'record.payload', record.payload);
  if (record.payload.byteLength > MAX_PAYLOAD_BYTES) throw invalidArgument(`a payload of at most ${MAX_PAYLOAD_BYTES} bytes`, 'record.payload', record.payload);
}

function checkInteger(value: unknown, name: string, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw invalidArgument(`an integer >= ${min}`, name, value);
}

/**
 * Reads vault segments back, through whatever a crash or a failing disk left in them.
 *
 * A record is handed out only when its magic, version, reserved byte, length (inside the
 * file), CRC32C and seq (above the previous record's) all check out. Where the bytes at a
 * record position fail any of that, the reader resyncs: it tries each following multiple of
 * 8 until one holds a valid record. Skipped bytes followed by a valid record are a corrupt
 * region, counted and left behind; skipped bytes running to the end of the file are the tail,
 * `clean` when they are only the zeros a writer pads its last block with, `torn` otherwise.
 * Every position is tried at most once, so a scan ends after at most one step per 8 bytes.
 *
 * Reads bypass the page cache (O_DIRECT, one large aligned window per call): replay reads
 * gigabytes once, and through the page cache they would evict what the engine needs and be
 * charged to its cgroup's memory, the thing that was short when the vault was written. One
 * large read per window leaves nothing for readahead to add. Where O_DIRECT is refused the
 * reader reads through the cache and drops each window from it after.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { SyscallError, VaultCorruptError, invalidArgument } from '../common/errors';
import { createLogger } from '../common/log';
import { allocAligned, crc32c, fadviseDontNeed, openDirect, pread } from '../common/native';
import type { RecordKind } from '../common/record-kind';
import {
  RECORD_ALIGNMENT,
  RECORD_CRC_FROM,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  alignUp,
  decodeSegmentHeader,
  framedBytes,
  readRecordHeader,
  type SegmentHeader,
} from './segment-format';

export interface VaultRecord {
  seq: number;
  kind: RecordKind;
  flags: number;
  receivedMs: number;
  /** A view into the reader's buffer: valid until the next call to next(). */
  payload: Uint8Array;
  /** Where the record starts in its segment file. */
  offset: number;
}

export interface SegmentReaderOptions {
  /** false reads through the page cache, as happens anyway where O_DIRECT is refused. */
  readonly directIo?: boolean;
  /** Bytes read per call. A larger record grows the buffer to hold it whole. */
  readonly windowBytes?: number;
}

/** What follows the last good record: nothing or zero padding (`clean`), or anything else (`torn`). */
export type SegmentTail = 'clean' | 'torn';

export interface SegmentScan {
  /** null for a segment whose creation was cut short: no intact header and nothing after it. */
  header: SegmentHeader | null;
  fileBytes: number;
  records: number;
  /** Seq of the last good record; 0 when there is none. */
  lastSeq: number;
  /** End of the last good record (or of the header): where recovery cuts the file. */
  validEnd: number;
  /** Corrupt regions skipped between good records. */
  corruptSkipped: number;
  skippedBytes: number;
  tail: SegmentTail;
  /** Record positions tried: at most one per 8 bytes of the file. */
  positionsExamined: number;
}

export interface RecoveredSegment {
  records: number;
  /** Size of the file after recovery: the end of its last good record. */
  bytes: number;
  truncatedBytes: number;
  corruptSkipped: number;
  lastSeq: number;
  tail: SegmentTail;
}

const log = createLogger('vault-reader');

// The offset and length of an O_DIRECT read must be multiples of the device's logical sector
// size, which is 512 or 4096: reading in 4096s suits both.
const READ_ALIGNMENT = 4096;
const DEFAULT_WINDOW_BYTES = 1024 * 1024;

export class SegmentReader {
  readonly path: string;
  readonly header: SegmentHeader | null;
  readonly fileBytes: number;
  private readonly window: ReadWindow;
  private pos: number;
  private end: SegmentTail | null = null;
  private last: number;
  private good = 0;
  private validTo: number;
  private corrupt = 0;
  private skipped = 0;
  private examined = 0;

  /** Opens `path` and checks its header; throws VaultCorruptError when it is not a segment. */
  constructor(path: string, options: SegmentReaderOptions = {}) {
    const { directIo = true, windowBytes = DEFAULT_WINDOW_BYTES } = options;
    if (typeof directIo !== 'boolean') throw invalidArgument('a boolean', 'directIo', directIo);
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 2 * READ_ALIGNMENT || windowBytes % READ_ALIGNMENT !== 0) {
      throw invalidArgument(`a multiple of ${READ_ALIGNMENT} of at least ${2 * READ_ALIGNMENT}`, 'windowBytes', windowBytes);
    }
    this.path = path;
    this.window = new ReadWindow(path, directIo, windowBytes);
    this.fileBytes = this.window.fileBytes;
    try {
      this.header = this.readHeader();
      if (this.header === null) this.end = this.isZero(0, this.fileBytes) ? 'clean' : 'torn';
    } catch (err) {
      this.window.close();
      throw err;
    }
    this.pos = this.validTo = this.header === null ? 0 : SEGMENT_HEADER_BYTES;
    this.last = this.header === null ? 0 : this.header.firstSeq - 1;
  }

  /** The next good record, or null at the end of the segment. */
  next(): VaultRecord | null {
    if (this.end !== null) return null;
    const start = this.pos;
    for (let at = start; at + RECORD_HEADER_BYTES <= this.fileBytes; at += RECORD_ALIGNMENT) {
      this.examined++;
      const record = this.recordAt(at);
      if (record === null) continue;
      if (at > start) {
        this.corrupt++;
        this.skipped += at - start;
      }
      this.pos = at + framedBytes(record.payload.byteLength);
      // A file cut inside a record's padding still holds the whole record.
      this.validTo = Math.min(this.pos, this.fileBytes);
      this.last = record.seq;
      this.good++;
      return record;
    }
    this.end = this.isZero(start, this.fileBytes) ? 'clean' : 'torn';
    return null;
  }

  /** null until next() has returned null. */
  get tail(): SegmentTail | null {
    return this.end;
  }

  /** Where the scan stands; final once next() has returned null. */
  scan(): SegmentScan {
    return {
      header: this.header,
      fileBytes: this.fileBytes,
      records: this.good,
      lastSeq: this.good === 0 ? 0 : this.last,
      validEnd: this.validTo,
      corruptSkipped: this.corrupt,
      skippedBytes: this.skipped,
      tail: this.end ?? 'clean',
      positionsExamined: this.examined,
    };
  }

  close(): void {
    this.window.close();
  }

  private readHeader(): SegmentHeader | null {
    if (this.fileBytes < SEGMENT_HEADER_BYTES) return null;
    const at = this.window.load(0, SEGMENT_HEADER_BYTES);
    try {
      return decodeSegmentHeader(this.window.bytes.subarray(at, at + SEGMENT_HEADER_BYTES), this.path);
    } catch (err) {
      // The writer syncs the header before it writes any record behind it, so a header that
      // is not intact in a file holding nothing else is a creation cut short, not damage.
      if (err instanceof VaultCorruptError && this.fileBytes === SEGMENT_HEADER_BYTES) return null;
      throw err;
    }
  }

  private recordAt(at: number): VaultRecord | null {
    const head = readRecordHeader(this.window.view, this.window.load(at, RECORD_HEADER_BYTES));
    if (head === null || head.seq <= this.last) return null;
    const end = at + RECORD_HEADER_BYTES + head.payloadBytes;
    if (end > this.fileBytes || this.crcOf(at + RECORD_CRC_FROM, end) !== head.crc) return null;
    const payloadAt = this.window.load(at, end - at) + RECORD_HEADER_BYTES;
    return {
      seq: head.seq,
      kind: head.kind,
      flags: head.flags,
      receivedMs: head.receivedMs,
      payload: this.window.bytes.subarray(payloadAt, payloadAt + head.payloadBytes),
      offset: at,
    };
  }

  // In window-sized pieces, so that a damaged length claiming most of the file costs reads
  // but never a buffer that large.
  private crcOf(from: number, to: number): number {
    let crc = 0;
    for (let p = from; p < to; ) {
      const n = Math.min(to - p, this.window.reach(p));
      const i = this.window.load(p, n);
      crc = crc32c(this.window.bytes.subarray(i, i + n), crc);
      p += n;
    }
    return crc;
  }

  private isZero(from: number, to: number): boolean {
    for (let p = from; p < to; ) {
      const n = Math.min(to - p, this.window.reach(p));
      const i = this.window.load(p, n);
      const bytes = this.window.bytes;
      for (let k = i; k < i + n; k++) if (bytes[k] !== 0) return false;
      p += n;
    }
    return true;
  }
}

/** Reads `path` whole and hands back what `visit` should see of it; see SegmentReader. */
export function scanSegment(path: string, visit?: (record: VaultRecord) => void, options?: SegmentReaderOptions): SegmentScan {
  const reader = new SegmentReader(path, options);
  try {
    for (let record = reader.next(); record !== null; record = reader.next()) visit?.(record);
    return reader.scan();
  } finally {
    reader.close();
  }
}

/**
 * Cuts `path` back to the end of its last good record, so that a torn tail left by a crash
 * is gone before anything appends to or replays the vault. Corrupt regions between good
 * records stay (the reader skips them); nothing that reads as a good record is removed.
 */
export function recoverSegment(path: string, options?: SegmentReaderOptions): RecoveredSegment {
  const scan = scanSegment(path, undefined, options);
  const truncatedBytes = scan.fileBytes - scan.validEnd;
  if (truncatedBytes > 0) {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      ftruncateSync(fd, scan.validEnd);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  if (scan.tail === 'torn' || scan.corruptSkipped > 0) {
    log.warn('recovered a damaged vault segment', {
      path,
      records: scan.records,
      lastSeq: scan.lastSeq,
      corruptSkipped: scan.corruptSkipped,
      skippedBytes: scan.skippedBytes,
      truncatedBytes,
      tail: scan.tail,
    });
  }
  return {
    records: scan.records,
    bytes: scan.validEnd,
    truncatedBytes,
    corruptSkipped: scan.corruptSkipped,
    lastSeq: scan.lastSeq,
    tail: scan.tail,
  };
}

/** A read-only file seen through one aligned buffer that holds [start, start + length). */
class ReadWindow {
  readonly fileBytes: number;
  bytes: Uint8Array;
  view: DataView;
  private readonly path: string;
  private readonly fd: number;
  private readonly direct: boolean;
  private start = 0;
  private length = 0;

  constructor(path: string, directIo: boolean, windowBytes: number) {
    this.path = path;
    let fd: number | null = null;
    if (directIo) {
      try {
        fd = openDirect(path);
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === 'EINVAL')) throw err;
      }
    }
    this.direct = fd !== null;
    this.fd = fd ?? openSync(path, constants.O_RDONLY);
    try {
      this.fileBytes = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
    this.bytes = new Uint8Array(allocAligned(windowBytes, READ_ALIGNMENT));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Index in `bytes` of file offset `pos`, once [pos, pos + n) is in memory. */
  load(pos: number, n: number): number {
    if (pos >= this.start && pos + n <= this.start + this.length) return pos - this.start;
    const start = pos - (pos % READ_ALIGNMENT);
    const needed = alignUp(pos + n - start, READ_ALIGNMENT);
    if (needed > this.bytes.byteLength) {
      this.bytes = new Uint8Array(allocAligned(needed, READ_ALIGNMENT));
      this.view = new DataView(this.bytes.buffer);
    }
    this.start = start;
    this.length = this.read(start);
    if (pos + n > start + this.length) throw new VaultCorruptError(`${this.path} became shorter while it was being read`);
    return pos - start;
  }

  /** How many bytes from `pos` one load() can provide without growing the buffer. */
  reach(pos: number): number {
    const inWindow = this.start + this.length - pos;
    return pos >= this.start && inWindow > 0 ? inWindow : this.bytes.byteLength - (pos % READ_ALIGNMENT);
  }

  close(): void {
    closeSync(this.fd);
  }

  private read(start: number): number {
    const capacity = this.bytes.byteLength;
    let done = 0;
    // Short reads happen only at the end of the file; the alignment test keeps an O_DIRECT
    // continuation legal should one come early anyway.
    while (done < capacity && done % READ_ALIGNMENT === 0) {
      const n = this.direct
        ? pread(this.fd, this.bytes.subarray(done), start + done)
        : readSync(this.fd, this.bytes, done, capacity - done, start + done);
      if (n === 0) break;
      done += n;
    }
    if (!this.direct && done > 0) fadviseDontNeed(this.fd, start, done);
    return done;
  }
}

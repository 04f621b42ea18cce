/**
 * An append-only line file with size rotation: `path` is live, `path.1` the newest rotated
 * file, `path.N` the oldest. Writes are synchronous and all-or-nothing, because the caller
 * commits its ring as soon as write() returns: a batch must then be in the file whole, and a
 * batch that failed must leave nothing behind that a retry would duplicate.
 *
 * There is no fsync: the page cache outlives a crash of this process, which is the failure
 * the ring commit protocol is about; surviving power loss would cost a disk flush per batch.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { makeDirs } from '../common/make-dirs';
import { dirname } from 'node:path';
import { SinkClosedError, SinkIoError, invalidArgument } from '../common/errors';
import { createLogger } from '../common/log';

export interface FileSinkOptions {
  readonly path: string;
  /**
   * Rotate before a write that would take the live file past this size. A single write
   * larger than this is not dropped: it goes whole into a fresh file, which then exceeds
   * the limit until the next write rotates it away.
   */
  readonly maxBytes: number;
  /** Rotated files to keep; 0 keeps none and truncates the live file in place instead. */
  readonly maxFiles: number;
}

const log = createLogger('file-sink');

// Read access only serves the one-byte look at the end of the file on open.
const OPEN_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const NEWLINE = 0x0a;

export class FileSink {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private fd: number | null;
  private size: number;

  constructor({ path, maxBytes, maxFiles }: FileSinkOptions) {
    if (typeof path !== 'string' || path.length === 0) throw invalidArgument('a file path', 'path', path);
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw invalidArgument('a positive integer', 'maxBytes', maxBytes);
    if (!Number.isSafeInteger(maxFiles) || maxFiles < 0) throw invalidArgument('an integer >= 0', 'maxFiles', maxFiles);
    this.path = path;
    this.maxBytes = maxBytes;
    this.maxFiles = maxFiles;
    let fd: number | undefined;
    try {
      makeDirs(dirname(path), DIR_MODE);
      fd = openSync(path, OPEN_FLAGS, FILE_MODE);
      // A restart continues the file it finds, so rotation counts what is already there.
      this.size = fstatSync(fd).size;
      const whole = endOfLastLine(fd, this.size);
      if (whole < this.size) {
        log.warn('removing a torn last line left by an earlier crash', { path, bytes: this.size - whole });
        ftruncateSync(fd, whole);
        this.size = whole;
      }
      this.fd = fd;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw new SinkIoError(`cannot open ${path}: ${(err as Error).message}`, err);
    }
  }

  /** Appends `text` (UTF-8 when a string) completely or, on failure, not at all (and throws SinkIoError). */
  write(text: string | Buffer): void {
    if (this.fd === null) throw new SinkClosedError(`write to ${this.path} after close`);
    if (text.length === 0) return;
    const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    if (this.size !== 0 && this.size + data.length > this.maxBytes) this.rotate();
    this.append(data);
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch (err) {
      throw new SinkIoError(`cannot close ${this.path}: ${(err as Error).message}`, err);
    }
  }

  private append(data: Buffer): void {
    const fd = this.fd!;
    let written = 0;
    try {
      // writeSync may write less than asked (signals, quotas); what it did write is kept.
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    } catch (err) {
      if (written !== 0) this.cutBack(fd, this.size);
      throw new SinkIoError(`cannot append ${data.length} bytes to ${this.path}: ${(err as Error).message}`, err);
    }
    this.size += data.length;
  }

  // Only ever shortens: if someone truncated the file under us, extending it back to our
  // idea of its size would fill it with NUL bytes.
  private cutBack(fd: number, size: number): void {
    try {
      if (fstatSync(fd).size > size) ftruncateSync(fd, size);
    } catch (err) {
      log.error('cannot remove a partly written batch; the file now ends in a torn line', { path: this.path, err });
    }
  }

  private rotate(): void {
    const fd = this.fd!;
    try {
      this.removeBeyond(this.maxFiles);
      if (this.maxFiles === 0) {
        ftruncateSync(fd, 0);
      } else {
        // Renaming under the open descriptor is safe: it follows the file, so a failure
        // anywhere below leaves us appending to a file that still exists.
        for (let i = this.maxFiles - 1; i >= 1; i--) renameIfPresent(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        // Absent when an earlier rotation failed between this rename and the open below.
        renameIfPresent(this.path, `${this.path}.1`);
        this.fd = openSync(this.path, OPEN_FLAGS, FILE_MODE);
        closeSync(fd);
      }
    } catch (err) {
      throw new SinkIoError(`cannot rotate ${this.path}: ${(err as Error).message}`, err);
    }
    log.info('rotated', { path: this.path, bytes: this.size, kept: this.maxFiles });
    this.size = 0;
  }

  // Files numbered past the limit exist only when the limit was lowered since they were made.
  private removeBeyond(maxFiles: number): void {
    for (let i = maxFiles + 1; ; i++) {
      try {
        unlinkSync(`${this.path}.${i}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// A process killed inside write() can leave a line without its newline. Its batch was
// never committed from the ring, so it will be written again whole: the torn bytes are
// cut off rather than kept, and the file stays valid JSON lines for every reader.
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * Cuts one connection's byte stream into records that end at line boundaries, copying only
 * the partial line between reads: a record is a list of views into the socket's read buffers
 * (plus the record header, the partial line and, where a long line is cut, a newline), which
 * the ring copies in one step.
 *
 * What it holds between reads is only the current partial line, never more than
 * max_line_bytes, in one buffer of its own that grows by doubling: a client that sends a line
 * a byte per segment costs the line's bytes (at most twice, with the doubling), not an object
 * per segment, and a read buffer is not kept alive by the few bytes at its end. A longer line
 * is cut at max_line_bytes: `split` emits every max_line_bytes as a line of its own,
 * `truncate` emits the first max_line_bytes and drops the rest up to the newline.
 *
 * Most reads take the fast path: a read no longer than max_line_bytes holds only lines no
 * longer than it, except perhaps the first (which continues the partial line), so two
 * native searches (first and last newline) cut it. Only a read that may hold a long line is
 * walked line by line.
 */

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from('\n');
/**
 * The first buffer of a partial line: a typical log line fits, and node serves sizes up to
 * 4 KiB from its shared pool, so starting one costs no allocation of its own.
 */
const MIN_PENDING_BYTES = 256;

export type LongLinePolicy = 'split' | 'truncate';

export class LineFramer {
  /** Lines longer than max_line_bytes, each counted once however it was cut. */
  longLines = 0;
  /** The record being built: header first; valid until the next call. */
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  /** The partial line: its bytes are pending[0, pendingLength). Handed to the record when the line ends. */
  private pending: Buffer | undefined;
  private pendingLength = 0;
  /** truncate: the rest of an overlong line is being dropped up to its newline. */
  private dropping = false;
  /** The current line was already counted as long. */
  private counted = false;

  constructor(
    private readonly header: Buffer,
    private readonly maxLineBytes: number,
    private readonly policy: LongLinePolicy,
  ) {}

  /** Bytes of the partial line held between reads. */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** The complete lines that `chunk` ends, as a record; empty when it ends none. */
  push(chunk: Buffer): { segments: readonly Buffer[]; bytes: number } {
    this.start();
    if (!this.dropping && chunk.length <= this.maxLineBytes && this.fastPath(chunk)) return this.record();
    this.walk(chunk);
    return this.record();
  }

  /** The connection ended: its last partial line, if any, as a line of its own. */
  finish(): { segments: readonly Buffer[]; bytes: number } {
    this.start();
    if (this.pendingLength > 0) {
      this.emitPending();
      this.emit(NEWLINE_BYTES);
    }
    this.dropping = false;
    this.counted = false;
    return this.record();
  }

  private fastPath(chunk: Buffer): boolean {
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      if (this.pendingLength + chunk.length > this.maxLineBytes) return false;
      this.keep(chunk);
      return true;
    }
    if (this.pendingLength + first > this.maxLineBytes) return false;
    const last = chunk.lastIndexOf(NEWLINE);
    this.emitPending();
    this.emit(chunk.subarray(0, last + 1));
    this.counted = false;
    if (last + 1 < chunk.length) this.keep(chunk.subarray(last + 1));
    return true;
  }

  private walk(chunk: Buffer): void {
    // Complete lines that need no cutting are emitted as one contiguous run of the chunk.
    let runStart = -1;
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, pos);
      const complete = newline !== -1;
      const end = complete ? newline : chunk.length;
      if (complete && !this.dropping && this.pendingLength === 0 && end - pos <= this.maxLineBytes) {
        if (runStart === -1) runStart = pos;
        pos = end + 1;
        continue;
      }
      if (runStart !== -1) this.emit(chunk.subarray(runStart, pos));
      runStart = -1;
      this.piece(chunk.subarray(pos, end), complete);
      pos = end + 1;
    }
    if (runStart !== -1) this.emit(chunk.subarray(runStart, pos));
  }

  /** A piece of the current line; `complete` when a newline ended it. */
  private piece(bytes: Buffer, complete: boolean): void {
    if (this.dropping) {
      if (complete) this.endLine();
      return;
    }
    let piece = bytes;
    let room = this.maxLineBytes - this.pendingLength;
    while (piece.length > room) {
      if (!this.counted) this.longLines++;
      this.counted = true;
      this.emitPending();
      this.emit(piece.subarray(0, room));
      this.emit(NEWLINE_BYTES);
      if (this.policy === 'truncate') {
        if (complete) this.endLine();
        else this.dropping = true;
        return;
      }
      piece = piece.subarray(room);
      room = this.maxLineBytes;
    }
    if (!complete) {
      if (piece.length > 0) this.keep(piece);
      return;
    }
    this.emitPending();
    if (piece.length > 0) this.emit(piece);
    this.emit(NEWLINE_BYTES);
    this.endLine();
  }

  private endLine(): void {
    this.dropping = false;
    this.counted = false;
  }

  private start(): void {
    this.out.length = 0;
    this.out.push(this.header);
    this.outBytes = this.header.length;
  }

  private record(): { segments: readonly Buffer[]; bytes: number } {
    // Only the header: nothing to store.
    return { segments: this.out, bytes: this.out.length === 1 ? 0 : this.outBytes };
  }

  private emit(bytes: Buffer): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  private keep(bytes: Buffer): void {
    const needed = this.pendingLength + bytes.length;
    if (this.pending === undefined || needed > this.pending.length) {
      // Callers keep the line within max_line_bytes, so neither can the buffer grow past it.
      const grown = Buffer.allocUnsafe(Math.min(this.maxLineBytes, Math.max(needed, MIN_PENDING_BYTES, 2 * (this.pending?.length ?? 0))));
      this.pending?.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    bytes.copy(this.pending, this.pendingLength);
    this.pendingLength = needed;
  }

  private emitPending(): void {
    if (this.pendingLength === 0) return;
    // The record now owns these bytes (it may be held while the rings are full); the next
    // partial line starts a buffer of its own.
    this.emit(this.pending!.subarray(0, this.pendingLength));
    this.pending = undefined;
    this.pendingLength = 0;
  }
}

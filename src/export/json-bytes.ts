/**
 * OTLP/JSON lines assembled as UTF-8 in one buffer that a file or stdout exporter reuses from
 * batch to batch. A request decoded from protobuf goes in as its JSON text, encoded once; a
 * lines record writes its lines straight from the bytes it received, escaped where JSON
 * needs it, with no string in between. (Concatenating a batch's JSON into one string and
 * encoding that cost more than everything else the file exporter did.)
 *
 * The buffer grows to what the largest batch needed and stays there: that batch's JSON plus
 * room for its longest line escaped in full (six bytes a byte). Batches are bounded
 * (export/main.ts), and so are lines (ingest.lines.max_line_bytes), so it is too.
 */
import type { OtlpLogsRequest } from '../common/otlp-proto';
import { logsRequestToJson } from './otlp-json';

const INITIAL_BYTES = 64 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON.stringify's escapes for the bytes it escapes (below 0x20, the quote, the backslash), by byte. */
const ESCAPES: readonly Buffer[] = Array.from({ length: BACKSLASH + 1 }, (_, b) => Buffer.from(JSON.stringify(String.fromCharCode(b)).slice(1, -1), 'latin1'));
/** The longest escape (`\u001f`), in bytes. */
const MAX_ESCAPE_BYTES = 6;

// Four bytes at a time: a word holds a byte below 0x20, a quote or a backslash exactly when
// the has-a-zero-byte test fires on w (shifted by 0x20), on w XOR four quotes, or on w XOR
// four backslashes. Bytes of 0x80 and up (UTF-8 sequences) never fire it.
const SPACES = 0x20202020;
const ONES = 0x01010101;
const QUOTES = 0x22222222;
const BACKSLASHES = 0x5c5c5c5c;
const HIGH_BITS = 0x80808080;

/** A request that writes its own JSON into the buffer, equal to what logsRequestToJson gives. */
export interface WritesJsonBytes {
  writeOtlpJson(out: JsonBytes): void;
}

export class JsonBytes {
  private buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private length = 0;
  /** The last source of stringOf, and a view by 32-bit words of the memory under it, from the aligned word it starts in. */
  private source: Buffer | undefined;
  private words: Uint32Array | undefined;
  /** How far into its first word the source starts (0 to 3). */
  private skew = 0;

  /** What was written since the last reset; valid until the next write. */
  view(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
    // The last lines record is garbage once its batch is written; do not keep it alive.
    this.source = undefined;
    this.words = undefined;
  }

  /** Text of any characters, encoded to UTF-8. */
  text(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** Text known to be ASCII (our own JSON punctuation and names): one byte a character. */
  ascii(text: string): void {
    this.reserve(text.length);
    this.length += this.buffer.write(text, this.length, 'latin1');
  }

  /** Ready-made JSON bytes, as they are. */
  bytes(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.length += bytes.copy(this.buffer, this.length);
  }

  /** `bytes[start, end)`, valid UTF-8, as a JSON string, escaped exactly as JSON.stringify escapes. */
  stringOf(bytes: Buffer, start: number, end: number): void {
    this.reserve((end - start) * MAX_ESCAPE_BYTES + 2);
    const out = this.buffer;
    let at = this.length;
    out[at++] = QUOTE;
    let run = start;
    for (let i = this.nextEscape(bytes, run, end); i !== end; i = this.nextEscape(bytes, run, end)) {
      if (i > run) at += bytes.copy(out, at, run, i);
      const escape = ESCAPES[bytes[i]];
      for (let k = 0; k < escape.length; k++) out[at++] = escape[k];
      run = i + 1;
    }
    if (end > run) at += bytes.copy(out, at, run, end);
    out[at++] = QUOTE;
    this.length = at;
  }

  /** The first index in [from, end) whose byte JSON escapes, or `end`. */
  private nextEscape(bytes: Buffer, from: number, end: number): number {
    if (bytes !== this.source) {
      this.source = bytes;
      this.skew = bytes.byteOffset & 3;
      this.words = new Uint32Array(bytes.buffer, bytes.byteOffset - this.skew, (bytes.length + this.skew) >>> 2);
    }
    const { skew, words } = this;
    let i = from;
    // Byte by byte up to a word boundary of the memory, then whole words inside [from, end).
    for (; i < end && ((i + skew) & 3) !== 0; i++) if (escaped(bytes[i])) return i;
    for (const last = ((end + skew) & ~3) - skew; i < last; i += 4) {
      const w = words![(i + skew) >>> 2];
      const q = w ^ QUOTES;
      const b = w ^ BACKSLASHES;
      if (((w - SPACES) & ~w) & HIGH_BITS || ((q - ONES) & ~q) & HIGH_BITS || ((b - ONES) & ~b) & HIGH_BITS) break;
    }
    for (; i < end; i++) if (escaped(bytes[i])) return i;
    return end;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** The requests as OTLP/JSON lines, each ending in a newline, replacing what `out` held. */
export function writeJsonLines(requests: readonly OtlpLogsRequest[], out: JsonBytes): Buffer {
  out.reset();
  for (const request of requests) {
    if (writesJsonBytes(request)) request.writeOtlpJson(out);
    else out.text(logsRequestToJson(request));
    out.ascii('\n');
  }
  return out.view();
}

function writesJsonBytes(request: OtlpLogsRequest): request is OtlpLogsRequest & WritesJsonBytes {
  return 'writeOtlpJson' in request;
}

function escaped(byte: number): boolean {
  return byte < 0x20 || byte === QUOTE || byte === BACKSLASH;
}

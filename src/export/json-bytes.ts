/**
 * OTLP/JSON lines assembled as UTF-8 in one buffer that the export pipeline reuses from
 * batch to batch for the file and stdout exporters. Requests are written into it straight
 * from the bytes they arrived as: protobuf by the transcoder (otlp-json-transcoder.ts),
 * lines records from their lines (lines-decoder.ts), escaped where JSON needs it, with no
 * string or object in between. (Concatenating a batch's JSON into one string and encoding
 * that cost more than everything else the file exporter did; decoding protobuf into objects
 * cost memory by the record, not by the byte.)
 *
 * The buffer grows to what the largest batch needed and stays there. Its JSON is at most a
 * small multiple of the batch's bytes (six bytes a byte for a string of control characters,
 * the worst case), and batches are bounded (export/main.ts), so it is bounded too.
 */
import { isUtf8 } from 'node:buffer';

const INITIAL_BYTES = 64 * 1024;
/** A buffer grown past this by one batch is dropped at the next reset (the memory plan counts the transient peak). */
const RETAINED_BYTES = 8 * 1024 * 1024;
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

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const TWO_POW_32 = 2 ** 32;
/** Below this high word a 64-bit value is a safe integer (2^53). */
const SAFE_HIGH = 2 ** 21;
const MILLION = 1e6;
const SMALL = 2 ** 31;

/** Digits of a value below 2^31. */
function digitsOf(value: number): number {
  let digits = 1;
  for (let limit = 10; value >= limit && digits < 10; limit *= 10) digits++;
  return digits;
}

const quotient = { high: 0, low: 0 };

/**
 * `value` (a safe integer) divided by `divisor`: quotient in high, remainder in low. The
 * floating division may round across an integer; the remainder says so and is corrected.
 * Returns one shared object: read it before the next call.
 */
function divide(value: number, divisor: number): { high: number; low: number } {
  let high = Math.floor(value / divisor);
  let low = value - high * divisor;
  if (low < 0) {
    high--;
    low += divisor;
  } else if (low >= divisor) {
    high++;
    low -= divisor;
  }
  quotient.high = high;
  quotient.low = low;
  return quotient;
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

  /** Where the next byte goes, for rollback(). */
  mark(): number {
    return this.length;
  }

  /** Forgets what was written since mark() returned `mark` (a request found to be poison half-way). */
  rollback(mark: number): void {
    this.length = mark;
  }

  reset(): void {
    this.length = 0;
    // One huge request's JSON (up to JSON_EXPANSION times its bytes) is not kept for the
    // life of the process: the next batch starts from a small buffer again.
    if (this.buffer.length > RETAINED_BYTES) this.buffer = Buffer.allocUnsafe(INITIAL_BYTES);
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

  /** One ASCII byte. */
  byte(byte: number): void {
    this.reserve(1);
    this.buffer[this.length++] = byte;
  }

  /** Short ready-made ASCII (field names): copied in a loop, cheaper than a native copy at this size. */
  name(bytes: Buffer): void {
    this.reserve(bytes.length);
    const out = this.buffer;
    let at = this.length;
    for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i];
    this.length = at;
  }

  /**
   * A safe non-negative integer in decimal. Below 2^31 the arithmetic is on small integers;
   * above, the number is cut in two at 10^8 so that each half is (a double's % and / by ten
   * cost a call into C each).
   */
  uint(value: number): void {
    if (value < SMALL) {
      this.smallUint(value, digitsOf(value));
      return;
    }
    const { high, low } = divide(value, 1e8);
    this.uint(high);
    this.smallUint(low, 8);
  }

  /** The unsigned 64-bit integer `high * 2^32 + low` in decimal, exact, without a BigInt. */
  uint64(high: number, low: number): void {
    if (high < SAFE_HIGH) {
      this.uint(high * TWO_POW_32 + low);
      return;
    }
    // One long division by 10^6 leaves a quotient below 2^53; every step stays exact.
    const top = divide(high, MILLION);
    const topQuotient = top.high;
    const rest = divide(top.low * TWO_POW_32 + low, MILLION);
    const lowDigits = rest.low;
    this.uint(topQuotient * TWO_POW_32 + rest.high);
    this.smallUint(lowDigits, 6);
  }

  /** `value` (below 2^31) in exactly `digits` digits, zeros first. */
  private smallUint(value: number, digits: number): void {
    this.reserve(digits);
    const out = this.buffer;
    let at = this.length + digits;
    this.length = at;
    let v = value | 0;
    for (let i = 0; i < digits; i++) {
      const next = (v / 10) | 0;
      out[--at] = 0x30 + v - next * 10;
      v = next;
    }
  }

  /** The two's complement 64-bit integer `high:low` in decimal. */
  int64(high: number, low: number): void {
    if (high < 0x80000000) {
      this.uint64(high, low);
      return;
    }
    this.byte(0x2d);
    const negLow = (~low + 1) >>> 0;
    this.uint64((~high + (negLow === 0 ? 1 : 0)) >>> 0, negLow);
  }

  /** `bytes[start, end)` as a JSON string of lowercase hex. */
  hexOf(bytes: Buffer, start: number, end: number): void {
    this.reserve((end - start) * 2 + 2);
    const out = this.buffer;
    let at = this.length;
    out[at++] = QUOTE;
    for (let i = start; i < end; i++) {
      out[at++] = HEX[bytes[i] >>> 4];
      out[at++] = HEX[bytes[i] & 15];
    }
    out[at++] = QUOTE;
    this.length = at;
  }

  /** `bytes[start, end)` as a JSON string of standard base64 with padding (proto3 JSON bytes). */
  base64Of(bytes: Buffer, start: number, end: number): void {
    this.reserve(Math.ceil((end - start) / 3) * 4 + 2);
    const out = this.buffer;
    let at = this.length;
    out[at++] = QUOTE;
    let i = start;
    for (; i + 3 <= end; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out[at++] = BASE64[n >>> 18];
      out[at++] = BASE64[(n >>> 12) & 63];
      out[at++] = BASE64[(n >>> 6) & 63];
      out[at++] = BASE64[n & 63];
    }
    if (end - i === 1) {
      out[at++] = BASE64[bytes[i] >>> 2];
      out[at++] = BASE64[(bytes[i] & 3) << 4];
      out[at++] = 0x3d;
      out[at++] = 0x3d;
    } else if (end - i === 2) {
      const n = (bytes[i] << 8) | bytes[i + 1];
      out[at++] = BASE64[n >>> 10];
      out[at++] = BASE64[(n >>> 4) & 63];
      out[at++] = BASE64[(n << 2) & 63];
      out[at++] = 0x3d;
    }
    out[at++] = QUOTE;
    this.length = at;
  }

  /**
   * `bytes[start, end)`, any bytes, as a JSON string: invalid UTF-8 replaced by U+FFFD as
   * Buffer#toString replaces it (and protobufjs's lenient string read, which uses it).
   */
  utf8StringOf(bytes: Buffer, start: number, end: number): void {
    if (this.isAscii(bytes, start, end) || isUtf8(bytes.subarray(start, end))) {
      this.stringOf(bytes, start, end);
      return;
    }
    const replaced = Buffer.from(bytes.toString('utf8', start, end), 'utf8');
    this.stringOf(replaced, 0, replaced.length);
  }

  /** `bytes[start, end)`, valid UTF-8, as a JSON string, escaped exactly as JSON.stringify escapes. */
  stringOf(bytes: Buffer, start: number, end: number): void {
    this.reserve((end - start) * MAX_ESCAPE_BYTES + 2);
    const out = this.buffer;
    let at = this.length;
    out[at++] = QUOTE;
    let run = start;
    for (let i = this.nextEscape(bytes, run, end); i !== end; i = this.nextEscape(bytes, run, end)) {
      if (i > run) at = copy(bytes, run, i, out, at);
      const escape = ESCAPES[bytes[i]];
      for (let k = 0; k < escape.length; k++) out[at++] = escape[k];
      run = i + 1;
    }
    if (end > run) at = copy(bytes, run, end, out, at);
    out[at++] = QUOTE;
    this.length = at;
  }

  /** Whether every byte in [from, end) is below 0x80, by words like nextEscape. */
  private isAscii(bytes: Buffer, from: number, end: number): boolean {
    this.wordsOf(bytes);
    const { skew, words } = this;
    let i = from;
    for (; i < end && ((i + skew) & 3) !== 0; i++) if (bytes[i] >= 0x80) return false;
    for (const last = ((end + skew) & ~3) - skew; i < last; i += 4) if (words![(i + skew) >>> 2] & HIGH_BITS) return false;
    for (; i < end; i++) if (bytes[i] >= 0x80) return false;
    return true;
  }

  private wordsOf(bytes: Buffer): void {
    if (bytes === this.source) return;
    this.source = bytes;
    this.skew = bytes.byteOffset & 3;
    this.words = new Uint32Array(bytes.buffer, bytes.byteOffset - this.skew, (bytes.length + this.skew) >>> 2);
  }

  /** The first index in [from, end) whose byte JSON escapes, or `end`. */
  private nextEscape(bytes: Buffer, from: number, end: number): number {
    this.wordsOf(bytes);
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

/** Below this many bytes a loop copies faster than Buffer#copy, whose checks cost more than the copy. */
const LOOP_COPY_BYTES = 64;

/** Copies `from[start, end)` to `to` at `at`; returns the position after it. */
function copy(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start >= LOOP_COPY_BYTES) return at + from.copy(to, at, start, end);
  for (let i = start; i < end; i++) to[at++] = from[i];
  return at;
}

function escaped(byte: number): boolean {
  return byte < 0x20 || byte === QUOTE || byte === BACKSLASH;
}

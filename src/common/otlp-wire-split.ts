/**
 * Counting and cutting serialized ExportLogsServiceRequests without decoding them.
 *
 * Concatenating two serialized requests is a valid request whose resource_logs are both
 * lists in order (repeated field 1), so merging is a byte copy; cutting goes the other way,
 * at ResourceLogs boundaries, and deeper only when one ResourceLogs is larger than the
 * downstream accepts: it is then repeated with its resource, schema URL and unknown fields,
 * each copy holding some of its ScopeLogs (and likewise a ScopeLogs with some of its
 * LogRecords). One LogRecord larger than the limit cannot be cut.
 */
import { ExportTooLargeError } from './errors';
import { Field, WireCursor, WireType, lenFieldSize, writeLenHeader } from './otlp-wire';

/** Tag (field numbers below 16) plus the longest length prefix we write (under 2^35). */
const NESTING_OVERHEAD = 6;

/** LogRecords in the request, counted by walking tags only. */
/** Top-level ResourceLogs of a serialized request, counted on the wire. */
export function countResourceLogs(request: Uint8Array): number {
  let count = 0;
  const top = new WireCursor(request, 0, request.byteLength);
  while (top.next()) if (top.field === Field.ResourceLogs && top.type === WireType.Len) count++;
  return count;
}

export function countLogRecords(request: Uint8Array): number {
  let count = 0;
  const top = new WireCursor(request, 0, request.byteLength);
  while (top.next()) {
    if (top.field !== Field.ResourceLogs || top.type !== WireType.Len) continue;
    const rl = new WireCursor(request, top.start, top.end);
    while (rl.next()) {
      if (rl.field !== Field.ScopeLogs || rl.type !== WireType.Len) continue;
      const sl = new WireCursor(request, rl.start, rl.end);
      while (sl.next()) if (sl.field === Field.LogRecords && sl.type === WireType.Len) count++;
    }
  }
  return count;
}

/**
 * Cuts `request` into requests of at most `maxBytes` each, in order. Runs of whole top-level
 * fields are views of `request` (no copy). Throws ExportTooLargeError for a part that cannot
 * be cut small enough (one LogRecord, or an unknown field, larger than the limit).
 */
export function splitRequest(request: Uint8Array, maxBytes: number): Uint8Array[] {
  if (request.byteLength <= maxBytes) return [request];
  const parts: Uint8Array[] = [];
  const top = new WireCursor(request, 0, request.byteLength);
  let runStart = 0;
  let runEnd = 0;
  while (top.next()) {
    if (top.pos - runStart <= maxBytes) {
      runEnd = top.pos;
      continue;
    }
    if (runEnd > runStart) parts.push(request.subarray(runStart, runEnd));
    runStart = top.fieldStart;
    runEnd = top.pos;
    if (top.pos - top.fieldStart <= maxBytes) continue;
    if (top.field !== Field.ResourceLogs || top.type !== WireType.Len) throw tooLarge('an unknown top-level field', top.pos - top.fieldStart, maxBytes);
    for (const part of splitNested(request, top.start, top.end, RESOURCE_LOGS_LEVEL, maxBytes)) parts.push(part);
    runStart = runEnd = top.pos;
  }
  if (runEnd > runStart) parts.push(request.subarray(runStart, runEnd));
  return parts;
}

interface Level {
  readonly what: string;
  /** The message's field number in its parent. */
  readonly field: number;
  /** The repeated field whose items are shared out among the copies. */
  readonly childField: number;
  /** How to cut a child too large on its own; null when it cannot be cut. */
  readonly child: Level | null;
}

const SCOPE_LOGS_LEVEL: Level = { what: 'ScopeLogs', field: Field.ScopeLogs, childField: Field.LogRecords, child: null };
const RESOURCE_LOGS_LEVEL: Level = { what: 'ResourceLogs', field: Field.ResourceLogs, childField: Field.ScopeLogs, child: SCOPE_LOGS_LEVEL };

/**
 * Cuts the message in [start, end) into copies of itself, each with all of its fields but
 * the level's children and a run of those, every copy encoded as a field within `budget` bytes.
 */
function splitNested(buf: Uint8Array, start: number, end: number, level: Level, budget: number): Uint8Array[] {
  const { what, field, childField } = level;
  const base: Uint8Array[] = [];
  let baseBytes = 0;
  const children: Array<[number, number, number, number]> = [];
  const cursor = new WireCursor(buf, start, end);
  while (cursor.next()) {
    if (cursor.field === childField && cursor.type === WireType.Len) {
      children.push([cursor.fieldStart, cursor.pos, cursor.start, cursor.end]);
    } else {
      base.push(buf.subarray(cursor.fieldStart, cursor.pos));
      baseBytes += cursor.pos - cursor.fieldStart;
    }
  }
  const room = budget - NESTING_OVERHEAD - baseBytes;
  if (room <= 0) throw tooLarge(`the fields of a ${what} besides its children`, baseBytes, budget);

  const parts: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (run.length === 0) return;
    parts.push(encodeMessage(field, base, baseBytes, run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const [fieldStart, fieldEnd, childStart, childEnd] of children) {
    const size = fieldEnd - fieldStart;
    if (size <= room) {
      if (runBytes + size > room) flush();
      run.push(buf.subarray(fieldStart, fieldEnd));
      runBytes += size;
      continue;
    }
    flush();
    if (level.child === null) throw tooLarge('one LogRecord', size, room);
    for (const part of splitNested(buf, childStart, childEnd, level.child, room)) {
      parts.push(encodeMessage(field, base, baseBytes, [part], part.byteLength));
    }
  }
  flush();
  return parts;
}

function encodeMessage(field: number, base: readonly Uint8Array[], baseBytes: number, children: readonly Uint8Array[], childBytes: number): Buffer {
  const body = baseBytes + childBytes;
  const out = Buffer.allocUnsafe(lenFieldSize(field, body));
  let pos = writeLenHeader(out, 0, field, body);
  for (const piece of base) {
    out.set(piece, pos);
    pos += piece.byteLength;
  }
  for (const piece of children) {
    out.set(piece, pos);
    pos += piece.byteLength;
  }
  return out;
}

function tooLarge(what: string, bytes: number, limit: number): ExportTooLargeError {
  return new ExportTooLargeError(`${what} takes ${bytes} bytes, more than the downstream's limit of ${limit} per request`);
}

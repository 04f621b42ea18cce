/**
 * A lines record serialized as an ExportLogsServiceRequest straight from its bytes, for the
 * forwarding exporters: one ResourceLogs (the record's resource), one ScopeLogs
 * (`gophership/lines`), and a LogRecord a line holding the line's bytes as they came (valid
 * UTF-8, checked by the caller) and the observed time. Fields go in number order and
 * defaults are left out, as protobufjs writes them, so the bytes are those that encoding
 * the decoded records would give (test/lines-json.test.ts).
 */
import { Field, WireType, lenFieldSize, writeLenHeader, writeVarint } from '../common/otlp-wire';

const OBSERVED_TIME_TAG = Field.ObservedTime * 8 + WireType.Fixed64;
const FIXED64_FIELD_BYTES = 1 + 8;

/** Where each line is: calls `visit` with each line's bounds in the bytes, in order. */
export type EachLine = (visit: (start: number, end: number) => void) => void;

export interface LinesWireRequest {
  readonly bytes: Buffer;
  readonly eachLine: EachLine;
  /** The serialized Resource message. */
  readonly resource: Uint8Array;
  /** The serialized InstrumentationScope message. */
  readonly scope: Uint8Array;
  /** observed_time_unix_nano, 0 for none. */
  readonly observedNanos: bigint;
}

export function encodeLinesRequest(r: LinesWireRequest): Uint8Array {
  const time = observedTimeField(r.observedNanos);
  const observed = time.length;
  let records = 0;
  r.eachLine((start, end) => (records += lenFieldSize(Field.LogRecords, logRecordBytes(end - start, observed))));
  if (records === 0) return new Uint8Array(0);
  const scopeLogs = lenFieldSize(Field.Scope, r.scope.byteLength) + records;
  const resourceLogs = lenFieldSize(Field.Resource, r.resource.byteLength) + lenFieldSize(Field.ScopeLogs, scopeLogs);
  const out = Buffer.allocUnsafe(lenFieldSize(Field.ResourceLogs, resourceLogs));
  let at = writeLenHeader(out, 0, Field.ResourceLogs, resourceLogs);
  at = writeLenHeader(out, at, Field.Resource, r.resource.byteLength);
  out.set(r.resource, at);
  at = writeLenHeader(out, at + r.resource.byteLength, Field.ScopeLogs, scopeLogs);
  at = writeLenHeader(out, at, Field.Scope, r.scope.byteLength);
  out.set(r.scope, at);
  at += r.scope.byteLength;
  const { bytes } = r;
  r.eachLine((start, end) => {
    const length = end - start;
    at = writeLenHeader(out, at, Field.LogRecords, logRecordBytes(length, observed));
    at = writeLenHeader(out, at, Field.Body, lenFieldSize(Field.StringValue, length));
    at = writeLenHeader(out, at, Field.StringValue, length);
    at += bytes.copy(out, at, start, end);
    for (let i = 0; i < observed; i++) out[at++] = time[i];
  });
  return out;
}

/** The observed_time_unix_nano field, the same for every line of a record; empty for 0. */
function observedTimeField(nanos: bigint): Buffer {
  if (nanos === 0n) return Buffer.alloc(0);
  const field = Buffer.allocUnsafe(FIXED64_FIELD_BYTES);
  field.writeBigUInt64LE(nanos, writeVarint(field, 0, OBSERVED_TIME_TAG));
  return field;
}

/** A LogRecord's body: the body field, an AnyValue holding the string, then the time. */
function logRecordBytes(lineBytes: number, observedBytes: number): number {
  return lenFieldSize(Field.Body, lenFieldSize(Field.StringValue, lineBytes)) + observedBytes;
}

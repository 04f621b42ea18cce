/**
 * google.rpc.Status answers, written with the wire helpers: the only protobuf an ingest worker
 * writes, a handful of times per server. protobufjs's object model would cost every worker
 * about 3 MiB of resident memory for it (docs/benchmarks.md, "Resting footprint"); the tests
 * decode these bytes with protobufjs (test/otlp-json.test.ts).
 *
 *   Status    { int32 code = 1; string message = 2; repeated Any details = 3; }
 *   Any       { string type_url = 1; bytes value = 2; }
 *   RetryInfo { Duration retry_delay = 1; }
 *   Duration  { int64 seconds = 1; int32 nanos = 2; }
 */
import { invalidArgument } from './errors';
import { WireType, encodeLenField, varintSize, writeVarint } from './otlp-wire';

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** A Status with no details. */
export function encodeStatusMessage(code: number, message: string): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 0x7fffffff) throw invalidArgument('a gRPC status code', 'code', code);
  return Buffer.concat([varintField(1, code), encodeLenField(2, Buffer.from(message, 'utf8'))]);
}

/** A Status whose RetryInfo detail tells a client when to try again (what OTLP clients honour). */
export function encodeRetryableStatus(code: number, message: string, retryDelayMs: number): Buffer {
  if (!(retryDelayMs >= 0 && retryDelayMs <= Number.MAX_SAFE_INTEGER)) throw invalidArgument('a delay in milliseconds >= 0', 'retryDelayMs', retryDelayMs);
  const delayMs = Math.round(retryDelayMs);
  const duration = Buffer.concat([varintField(1, Math.floor(delayMs / 1000)), varintField(2, (delayMs % 1000) * 1_000_000)]);
  const retryInfo = encodeLenField(1, duration);
  const any = Buffer.concat([encodeLenField(1, Buffer.from(RETRY_INFO_TYPE_URL)), encodeLenField(2, retryInfo)]);
  return Buffer.concat([encodeStatusMessage(code, message), encodeLenField(3, any)]);
}

/** proto3 leaves a zero scalar out. */
function varintField(field: number, value: number): Buffer {
  if (value === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(varintSize(field * 8 + WireType.Varint) + varintSize(value));
  writeVarint(out, writeVarint(out, 0, field * 8 + WireType.Varint), value);
  return out;
}

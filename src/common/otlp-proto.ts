/**
 * The OTLP logs messages and the google.rpc status messages, loaded once from proto/ by
 * protobufjs reflection. Reflection (rather than generated static code) keeps proto/ the
 * only source of truth; protobufjs still compiles a specialised decoder per type on first use.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { PoisonRecordError } from './errors';

// Compiled to dist/src/common/, so the package root is three levels up.
const PROTO_DIR = path.join(__dirname, '../../../proto');

const root = new protobuf.Root();
// google/protobuf/{any,duration}.proto never reach this: protobufjs serves them from its
// bundled copies before asking resolvePath.
root.resolvePath = (_origin, target) => path.resolve(PROTO_DIR, target);
root.loadSync([
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
]);

export const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
export const Status = root.lookupType('google.rpc.Status');
export const RetryInfo = root.lookupType('google.rpc.RetryInfo');
const Resource = root.lookupType('opentelemetry.proto.resource.v1.Resource');

/**
 * A 64-bit integer as protobufjs hands it out: a Long while the `long` package loads (it is
 * a dependency of protobufjs, so in practice always), a plain number otherwise.
 */
export type Int64 = protobuf.Long | number;

/*
 * The shape of a decoded request. Decoded messages inherit defaults from their prototype, so
 * scalars, bytes and repeated fields always read as a value (0, '', empty) while absent
 * message fields read as null. Bytes fields are views into the decoded input, not copies.
 */

export type AnyValueCase = 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';

export interface OtlpAnyValue {
  /** Which member of the oneof is set; undefined for an empty AnyValue. */
  readonly value: AnyValueCase | undefined;
  readonly stringValue: string;
  readonly boolValue: boolean;
  readonly intValue: Int64;
  readonly doubleValue: number;
  readonly arrayValue: { readonly values: readonly OtlpAnyValue[] } | null;
  readonly kvlistValue: { readonly values: readonly OtlpKeyValue[] } | null;
  readonly bytesValue: Uint8Array;
}

export interface OtlpKeyValue {
  readonly key: string;
  readonly value: OtlpAnyValue | null;
}

export interface OtlpEntityRef {
  readonly schemaUrl: string;
  readonly type: string;
  readonly idKeys: readonly string[];
  readonly descriptionKeys: readonly string[];
}

export interface OtlpResource {
  readonly attributes: readonly OtlpKeyValue[];
  readonly droppedAttributesCount: number;
  readonly entityRefs: readonly OtlpEntityRef[];
}

export interface OtlpInstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly OtlpKeyValue[];
  readonly droppedAttributesCount: number;
}

export interface OtlpLogRecord {
  readonly timeUnixNano: Int64;
  readonly observedTimeUnixNano: Int64;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: OtlpAnyValue | null;
  readonly attributes: readonly OtlpKeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly eventName: string;
}

export interface OtlpScopeLogs {
  readonly scope: OtlpInstrumentationScope | null;
  readonly logRecords: readonly OtlpLogRecord[];
  readonly schemaUrl: string;
}

export interface OtlpResourceLogs {
  readonly resource: OtlpResource | null;
  readonly scopeLogs: readonly OtlpScopeLogs[];
  readonly schemaUrl: string;
}

export interface OtlpLogsRequest {
  readonly resourceLogs: readonly OtlpResourceLogs[];
}

const NO_BYTES = new Uint8Array(0);

/**
 * An AnyValue built in code, shaped like a decoded one (every member present, `value` naming
 * the set one). Integers that fit a double exactly become intValue, other numbers doubleValue.
 */
export function anyValueOf(value: string | number | boolean): OtlpAnyValue {
  const v = { value: undefined as AnyValueCase | undefined, stringValue: '', boolValue: false, intValue: 0, doubleValue: 0, arrayValue: null, kvlistValue: null, bytesValue: NO_BYTES };
  if (typeof value === 'string') return { ...v, value: 'stringValue', stringValue: value };
  if (typeof value === 'boolean') return { ...v, value: 'boolValue', boolValue: value };
  return Number.isSafeInteger(value) ? { ...v, value: 'intValue', intValue: value } : { ...v, value: 'doubleValue', doubleValue: value };
}

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

/**
 * Decodes a serialized ExportLogsServiceRequest. Anything protobufjs refuses (truncation, bad
 * wire types, invalid UTF-8 in strings, nesting deeper than protobufjs's recursion limit of
 * 100 messages) and any trace/span id of the wrong length is poison: retrying cannot fix it.
 */
export function decodeLogsRequest(bytes: Uint8Array): OtlpLogsRequest {
  // A Buffer makes protobufjs pick its BufferReader, whose string decoding is native.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let request: OtlpLogsRequest;
  try {
    request = ExportLogsServiceRequest.decode(buffer) as unknown as OtlpLogsRequest;
  } catch (err) {
    throw new PoisonRecordError(`malformed ExportLogsServiceRequest (${bytes.byteLength} bytes): ${(err as Error).message}`, err);
  }
  checkIds(request);
  return request;
}

/**
 * Encodes a request built in code (the OTLP/JSON and lines decoders), not by protobufjs.
 * protobufjs writes every own property, and those objects carry all AnyValue members with
 * their defaults: written as they are, the last member (bytesValue) would win on decoding.
 * So each AnyValue keeps only the member its `value` names.
 */
export function encodeLogsRequest(request: OtlpLogsRequest): Uint8Array {
  const wire = {
    resourceLogs: request.resourceLogs.map((rl) => ({
      ...rl,
      resource: rl.resource === null ? null : { ...rl.resource, attributes: rl.resource.attributes.map(wireKeyValue) },
      scopeLogs: rl.scopeLogs.map((sl) => ({
        ...sl,
        scope: sl.scope === null ? null : { ...sl.scope, attributes: sl.scope.attributes.map(wireKeyValue) },
        logRecords: sl.logRecords.map((r) => ({ ...r, body: wireAnyValue(r.body), attributes: r.attributes.map(wireKeyValue) })),
      })),
    })),
  };
  return ExportLogsServiceRequest.encode(wire as never).finish();
}

/** A Resource built in code, serialized as encodeLogsRequest serializes it inside a request. */
export function encodeResource(resource: OtlpResource): Uint8Array {
  return Resource.encode({ ...resource, attributes: resource.attributes.map(wireKeyValue) } as never).finish();
}

function wireKeyValue(kv: OtlpKeyValue): object {
  return { key: kv.key, value: wireAnyValue(kv.value) };
}

function wireAnyValue(v: OtlpAnyValue | null): object | null {
  if (v === null || v.value === undefined) return null;
  // An empty AnyValue stands as null elsewhere, but a list element must be a message: {} (0a 00 on the wire).
  if (v.value === 'arrayValue') return { arrayValue: { values: (v.arrayValue?.values ?? []).map((e) => wireAnyValue(e) ?? {}) } };
  if (v.value === 'kvlistValue') return { kvlistValue: { values: (v.kvlistValue?.values ?? []).map(wireKeyValue) } };
  return { [v.value]: v[v.value] };
}

// The OTel collector rejects a request whose ids have the wrong length, so a line carrying
// one would poison whatever reads our output; better to refuse it here, once.
function checkIds(request: OtlpLogsRequest): void {
  for (const resourceLogs of request.resourceLogs) {
    for (const scopeLogs of resourceLogs.scopeLogs) {
      for (const record of scopeLogs.logRecords) {
        const traceIdLength = record.traceId.length;
        const spanIdLength = record.spanId.length;
        if ((traceIdLength !== 0 && traceIdLength !== TRACE_ID_BYTES) || (spanIdLength !== 0 && spanIdLength !== SPAN_ID_BYTES)) {
          throw new PoisonRecordError(
            `log record has a ${traceIdLength}-byte trace_id and a ${spanIdLength}-byte span_id; ids must be empty or ${TRACE_ID_BYTES} and ${SPAN_ID_BYTES} bytes`,
          );
        }
      }
    }
  }
}

const TWO_POW_32 = 2n ** 32n;

/** Decimal text of a 64-bit field, exact for the whole int64 and uint64 range. */
export function int64ToDecimal(value: Int64): string {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  const { low, high } = value;
  // Most counters and small ints fit in the low word; skip the BigInt for them.
  if (high === 0 && low >= 0) return String(low);
  const bits = BigInt(high >>> 0) * TWO_POW_32 + BigInt(low >>> 0);
  return (value.unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}


/**
 * The reference the transcoder (src/export/otlp-json-transcoder.ts) is held to: what the
 * file exporter wrote before it, by decoding with protobufjs and walking the message.
 *
 * The OTLP/JSON encoding of a decoded ExportLogsServiceRequest, as the OTLP specification
 * defines it: proto3 JSON with lowerCamelCase names, plus OTLP's own rules (trace and span
 * ids as lowercase hex, enums as integers).
 *
 * The text is written directly by walking the message instead of going through protobufjs's
 * toObject and JSON.stringify: that path builds a whole second object tree per request and
 * still needs a pass to fix ids, 64-bit integers and non-finite doubles. Attribute keys are
 * only ever emitted as JSON string data, never used as object keys, so keys such as
 * `__proto__` from the network cannot reach a prototype.
 */
import * as protobuf from 'protobufjs';
import {
  ExportLogsServiceRequest,
  int64ToDecimal,
  type Int64,
  type OtlpAnyValue,
  type OtlpEntityRef,
  type OtlpInstrumentationScope,
  type OtlpKeyValue,
  type OtlpLogRecord,
  type OtlpLogsRequest,
  type OtlpResource,
  type OtlpResourceLogs,
  type OtlpScopeLogs,
} from '../../src/common/otlp-proto';

/**
 * A serialized request as the reference writes it: decoded by protobufjs, except that
 * invalid UTF-8 in a string becomes U+FFFD (the transcoder's rule) where protobufjs's proto3
 * decoding refuses it. Throws what protobufjs throws.
 */
export function referenceJson(bytes: Uint8Array): string {
  const reader = protobuf.Reader.create(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  reader.stringVerify = reader.string;
  const request = ExportLogsServiceRequest.decode(reader) as unknown as OtlpLogsRequest;
  for (const rl of request.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const r of sl.logRecords) if ((r.traceId.length !== 0 && r.traceId.length !== 16) || (r.spanId.length !== 0 && r.spanId.length !== 8)) throw new Error('id length');
  return logsRequestToJson(request);
}

/** One request as one line of OTLP/JSON (no trailing newline; JSON escaping keeps it single-line). */
export function logsRequestToJson(request: OtlpLogsRequest): string {
  return request.resourceLogs.length === 0 ? '{}' : `{"resourceLogs":${list(request.resourceLogs, resourceLogs)}}`;
}

/*
 * Each message writer appends `"name":value` pairs for the fields proto3 JSON keeps, i.e.
 * those not at their default value, in the order the upstream .proto declares them.
 * `open(s)` yields the separator that precedes the next pair.
 */

function open(fields: string): string {
  return fields.length === 0 ? '{' : ',';
}

function close(fields: string): string {
  return fields.length === 0 ? '{}' : `${fields}}`;
}

function resourceLogs(message: OtlpResourceLogs): string {
  let s = '';
  if (message.resource !== null) s += `${open(s)}"resource":${resourceJson(message.resource)}`;
  if (message.scopeLogs.length !== 0) s += `${open(s)}"scopeLogs":${list(message.scopeLogs, scopeLogs)}`;
  if (message.schemaUrl.length !== 0) s += `${open(s)}"schemaUrl":${JSON.stringify(message.schemaUrl)}`;
  return close(s);
}

export function resourceJson(message: OtlpResource): string {
  let s = '';
  if (message.attributes.length !== 0) s += `${open(s)}"attributes":${list(message.attributes, keyValue)}`;
  if (message.droppedAttributesCount !== 0) s += `${open(s)}"droppedAttributesCount":${message.droppedAttributesCount}`;
  if (message.entityRefs.length !== 0) s += `${open(s)}"entityRefs":${list(message.entityRefs, entityRef)}`;
  return close(s);
}

function entityRef(message: OtlpEntityRef): string {
  let s = '';
  if (message.schemaUrl.length !== 0) s += `${open(s)}"schemaUrl":${JSON.stringify(message.schemaUrl)}`;
  if (message.type.length !== 0) s += `${open(s)}"type":${JSON.stringify(message.type)}`;
  if (message.idKeys.length !== 0) s += `${open(s)}"idKeys":${JSON.stringify(message.idKeys)}`;
  if (message.descriptionKeys.length !== 0) s += `${open(s)}"descriptionKeys":${JSON.stringify(message.descriptionKeys)}`;
  return close(s);
}

function scopeLogs(message: OtlpScopeLogs): string {
  let s = '';
  if (message.scope !== null) s += `${open(s)}"scope":${scope(message.scope)}`;
  if (message.logRecords.length !== 0) s += `${open(s)}"logRecords":${list(message.logRecords, logRecord)}`;
  if (message.schemaUrl.length !== 0) s += `${open(s)}"schemaUrl":${JSON.stringify(message.schemaUrl)}`;
  return close(s);
}

function scope(message: OtlpInstrumentationScope): string {
  let s = '';
  if (message.name.length !== 0) s += `${open(s)}"name":${JSON.stringify(message.name)}`;
  if (message.version.length !== 0) s += `${open(s)}"version":${JSON.stringify(message.version)}`;
  if (message.attributes.length !== 0) s += `${open(s)}"attributes":${list(message.attributes, keyValue)}`;
  if (message.droppedAttributesCount !== 0) s += `${open(s)}"droppedAttributesCount":${message.droppedAttributesCount}`;
  return close(s);
}

function logRecord(message: OtlpLogRecord): string {
  let s = '';
  if (!isZero(message.timeUnixNano)) s += `${open(s)}"timeUnixNano":"${int64ToDecimal(message.timeUnixNano)}"`;
  if (!isZero(message.observedTimeUnixNano)) s += `${open(s)}"observedTimeUnixNano":"${int64ToDecimal(message.observedTimeUnixNano)}"`;
  if (message.severityNumber !== 0) s += `${open(s)}"severityNumber":${message.severityNumber}`;
  if (message.severityText.length !== 0) s += `${open(s)}"severityText":${JSON.stringify(message.severityText)}`;
  if (message.body !== null) s += `${open(s)}"body":${anyValue(message.body)}`;
  if (message.attributes.length !== 0) s += `${open(s)}"attributes":${list(message.attributes, keyValue)}`;
  if (message.droppedAttributesCount !== 0) s += `${open(s)}"droppedAttributesCount":${message.droppedAttributesCount}`;
  if (message.flags !== 0) s += `${open(s)}"flags":${message.flags}`;
  if (message.traceId.length !== 0) s += `${open(s)}"traceId":"${asBuffer(message.traceId).toString('hex')}"`;
  if (message.spanId.length !== 0) s += `${open(s)}"spanId":"${asBuffer(message.spanId).toString('hex')}"`;
  if (message.eventName.length !== 0) s += `${open(s)}"eventName":${JSON.stringify(message.eventName)}`;
  return close(s);
}

function keyValue(message: OtlpKeyValue): string {
  let s = '';
  if (message.key.length !== 0) s += `${open(s)}"key":${JSON.stringify(message.key)}`;
  if (message.value !== null) s += `${open(s)}"value":${anyValue(message.value)}`;
  return close(s);
}

// Oneof members have presence, so a set member is written even at its default ("", 0, false).
function anyValue(message: OtlpAnyValue): string {
  switch (message.value) {
    case 'stringValue':
      return `{"stringValue":${JSON.stringify(message.stringValue)}}`;
    case 'boolValue':
      return message.boolValue ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'intValue':
      return `{"intValue":"${int64ToDecimal(message.intValue)}"}`;
    case 'doubleValue':
      return `{"doubleValue":${double(message.doubleValue)}}`;
    case 'arrayValue':
      return `{"arrayValue":${valuesOf(message.arrayValue!.values, anyValue)}}`;
    case 'kvlistValue':
      return `{"kvlistValue":${valuesOf(message.kvlistValue!.values, keyValue)}}`;
    case 'bytesValue':
      return `{"bytesValue":"${asBuffer(message.bytesValue).toString('base64')}"}`;
    case undefined:
      return '{}';
  }
}

// ArrayValue and KeyValueList share one shape: a single repeated `values` field.
function valuesOf<T>(values: readonly T[], write: (item: T) => string): string {
  return values.length === 0 ? '{}' : `{"values":${list(values, write)}}`;
}

function list<T>(items: readonly T[], write: (item: T) => string): string {
  let s = '[';
  for (let i = 0; i < items.length; i++) {
    if (i !== 0) s += ',';
    s += write(items[i]);
  }
  return `${s}]`;
}

// JSON has no literal for the non-finite doubles; proto3 JSON spells them as strings. -0 is
// kept because String(-0) would silently turn it into 0.
function double(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : String(value);
  if (Number.isNaN(value)) return '"NaN"';
  return value > 0 ? '"Infinity"' : '"-Infinity"';
}

function isZero(value: Int64): boolean {
  return typeof value === 'number' ? value === 0 : value.low === 0 && value.high === 0;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

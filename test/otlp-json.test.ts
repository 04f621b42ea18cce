import test from 'ava';
import { Writer } from 'protobufjs';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PoisonRecordError } from '../src/common/errors';
import { ExportLogsServiceRequest, RetryInfo, Status, decodeLogsRequest, int64ToDecimal } from '../src/common/otlp-proto';
import { encodeRetryableStatus } from '../src/common/rpc-status';
import { JsonBytes } from '../src/export/json-bytes';
import { OtlpJsonTranscoder } from '../src/export/otlp-json-transcoder';

/** What the file exporter writes for a serialized request. */
function toJson(bytes: Uint8Array): string {
  const out = new JsonBytes();
  new OtlpJsonTranscoder().write(bytes, out);
  return out.view().toString('utf8');
}

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

/** Serializes through protobufjs from the proto3 object form, then writes it as the file exporter does. */
function roundTrip(request: object): string {
  const bytes = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(request)).finish();
  return toJson((bytes));
}

function oneRecord(record: object): object {
  return { resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] };
}

test('every field and AnyValue variant is encoded as the OTLP/JSON specification defines', (t) => {
  const request = {
    resourceLogs: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }],
          droppedAttributesCount: 2,
          entityRefs: [{ schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', type: 'service', idKeys: ['service.name'], descriptionKeys: ['service.version'] }],
        },
        scopeLogs: [
          {
            scope: { name: 'gs.test', version: '1.2.3', attributes: [{ key: 'scope.attr', value: { boolValue: true } }], droppedAttributesCount: 1 },
            logRecords: [
              {
                timeUnixNano: '1700000000123456789',
                observedTimeUnixNano: '18446744073709551615',
                severityNumber: 17,
                severityText: 'ERROR',
                body: {
                  kvlistValue: {
                    values: [
                      { key: 's', value: { stringValue: 'héllo "q"\n\u0001 🚀' } },
                      { key: 'b', value: { boolValue: false } },
                      { key: 'max', value: { intValue: '9223372036854775807' } },
                      { key: 'min', value: { intValue: '-9223372036854775808' } },
                      { key: 'near', value: { intValue: '9223372036854775000' } },
                      { key: 'small', value: { intValue: '-42' } },
                      { key: 'd', value: { doubleValue: 1.5 } },
                      { key: 'nan', value: { doubleValue: NaN } },
                      { key: 'inf', value: { doubleValue: Infinity } },
                      { key: 'ninf', value: { doubleValue: -Infinity } },
                      { key: 'bytes', value: { bytesValue: Buffer.from([0x00, 0x01, 0x02, 0xfb, 0xff]) } },
                      {
                        key: 'arr',
                        value: {
                          arrayValue: {
                            values: [{ stringValue: 'x' }, { arrayValue: { values: [{ intValue: '1' }] } }, { kvlistValue: { values: [] } }, {}],
                          },
                        },
                      },
                      { key: 'novalue' },
                    ],
                  },
                },
                attributes: [
                  { key: 'http.status_code', value: { intValue: '503' } },
                  { key: 'nested', value: { kvlistValue: { values: [{ key: 'inner', value: { arrayValue: { values: [{ doubleValue: 0.1 }] } } }] } } },
                ],
                droppedAttributesCount: 3,
                flags: 0x101,
                traceId: Buffer.from(TRACE_ID, 'hex'),
                spanId: Buffer.from(SPAN_ID, 'hex'),
                eventName: 'checkout.failed',
              },
              { body: { stringValue: 'minimal' } },
            ],
            schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
          },
        ],
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      },
      { scopeLogs: [{ logRecords: [{ severityNumber: 9 }] }] },
    ],
  };
  // Written by hand from the spec: camelCase names, hex ids, base64 bytes, integer enums,
  // 64-bit integers as strings, non-finite doubles as strings, defaults left out.
  const expected = {
    resourceLogs: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }],
          droppedAttributesCount: 2,
          entityRefs: [{ schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', type: 'service', idKeys: ['service.name'], descriptionKeys: ['service.version'] }],
        },
        scopeLogs: [
          {
            scope: { name: 'gs.test', version: '1.2.3', attributes: [{ key: 'scope.attr', value: { boolValue: true } }], droppedAttributesCount: 1 },
            logRecords: [
              {
                timeUnixNano: '1700000000123456789',
                observedTimeUnixNano: '18446744073709551615',
                severityNumber: 17,
                severityText: 'ERROR',
                body: {
                  kvlistValue: {
                    values: [
                      { key: 's', value: { stringValue: 'héllo "q"\n\u0001 🚀' } },
                      { key: 'b', value: { boolValue: false } },
                      { key: 'max', value: { intValue: '9223372036854775807' } },
                      { key: 'min', value: { intValue: '-9223372036854775808' } },
                      { key: 'near', value: { intValue: '9223372036854775000' } },
                      { key: 'small', value: { intValue: '-42' } },
                      { key: 'd', value: { doubleValue: 1.5 } },
                      { key: 'nan', value: { doubleValue: 'NaN' } },
                      { key: 'inf', value: { doubleValue: 'Infinity' } },
                      { key: 'ninf', value: { doubleValue: '-Infinity' } },
                      { key: 'bytes', value: { bytesValue: 'AAEC+/8=' } },
                      { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }, { arrayValue: { values: [{ intValue: '1' }] } }, { kvlistValue: {} }, {}] } } },
                      { key: 'novalue' },
                    ],
                  },
                },
                attributes: [
                  { key: 'http.status_code', value: { intValue: '503' } },
                  { key: 'nested', value: { kvlistValue: { values: [{ key: 'inner', value: { arrayValue: { values: [{ doubleValue: 0.1 }] } } }] } } },
                ],
                droppedAttributesCount: 3,
                flags: 257,
                traceId: TRACE_ID,
                spanId: SPAN_ID,
                eventName: 'checkout.failed',
              },
              { body: { stringValue: 'minimal' } },
            ],
            schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
          },
        ],
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      },
      { scopeLogs: [{ logRecords: [{ severityNumber: 9 }] }] },
    ],
  };

  const json = roundTrip(request);
  t.is(json, JSON.stringify(expected));
  t.false(json.includes('\n'), 'one request must stay one line');
});

test('defaults are omitted, but a set oneof member is kept even at its default', (t) => {
  t.is(roundTrip({}), '{}');
  t.is(roundTrip(oneRecord({})), '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}');
  // Empty ids, zero times, severity 0, flags 0 and empty strings all vanish.
  t.is(
    roundTrip(oneRecord({ timeUnixNano: '0', traceId: Buffer.alloc(0), spanId: Buffer.alloc(0), severityNumber: 0, flags: 0, severityText: '', eventName: '' })),
    '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}',
  );
  const attributes = [
    { key: 'str', value: { stringValue: '' } },
    { key: 'int', value: { intValue: '0' } },
    { key: 'dbl', value: { doubleValue: 0 } },
    { key: 'neg0', value: { doubleValue: -0 } },
    { key: 'bool', value: { boolValue: false } },
    { key: 'bytes', value: { bytesValue: Buffer.alloc(0) } },
    { key: 'arr', value: { arrayValue: {} } },
    { key: 'empty', value: {} },
    { value: { stringValue: 'no key' } },
  ];
  t.is(
    roundTrip(oneRecord({ attributes })),
    '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[' +
      '{"key":"str","value":{"stringValue":""}},' +
      '{"key":"int","value":{"intValue":"0"}},' +
      '{"key":"dbl","value":{"doubleValue":0}},' +
      '{"key":"neg0","value":{"doubleValue":-0}},' +
      '{"key":"bool","value":{"boolValue":false}},' +
      '{"key":"bytes","value":{"bytesValue":""}},' +
      '{"key":"arr","value":{"arrayValue":{}}},' +
      '{"key":"empty","value":{}},' +
      '{"value":{"stringValue":"no key"}}' +
      ']}]}]}]}',
  );
  // A resource or scope that is present but empty is kept as {}: message fields have presence.
  t.is(roundTrip({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {} }] }] }), '{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{}}]}]}');
});

test('doubles round-trip through JSON.parse with full precision', (t) => {
  const doubles = [0.1, -2.5e-308, 5e-324, 1.7976931348623157e308, 1e21, 123456789.125];
  const json = roundTrip(oneRecord({ body: { arrayValue: { values: doubles.map((d) => ({ doubleValue: d })) } } }));
  const parsed = JSON.parse(json) as { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { arrayValue: { values: { doubleValue: number }[] } } }] }] }] };
  t.deepEqual(
    parsed.resourceLogs[0].scopeLogs[0].logRecords[0].body.arrayValue.values.map((v) => v.doubleValue),
    doubles,
  );
});

test('int64ToDecimal is exact for Long values and for plain numbers', (t) => {
  t.is(int64ToDecimal(0), '0');
  t.is(int64ToDecimal(-7), '-7');
  t.is(int64ToDecimal(2 ** 60), '1152921504606846976');
  t.is(int64ToDecimal({ low: -1, high: -1, unsigned: true }), '18446744073709551615');
  t.is(int64ToDecimal({ low: -1, high: -1, unsigned: false }), '-1');
  t.is(int64ToDecimal({ low: -1, high: 0, unsigned: false }), '4294967295');
  t.is(int64ToDecimal({ low: 0, high: -2147483648, unsigned: false }), '-9223372036854775808');
});

test('input given as a plain Uint8Array (not a Buffer) decodes the same', (t) => {
  const request = oneRecord({ traceId: Buffer.from(TRACE_ID, 'hex'), body: { bytesValue: Buffer.from('hi') } });
  const buffer = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(request)).finish();
  // Offset into a larger buffer, as a record payload inside a ring would be.
  const backing = new Uint8Array(buffer.length + 10);
  backing.set(buffer, 7);
  const view = backing.subarray(7, 7 + buffer.length);
  t.is(toJson((view)), toJson((buffer)));
  t.is(toJson((view)), `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"aGk="},"traceId":"${TRACE_ID}"}]}]}]}`);
});

test('keys like __proto__ and constructor are carried as data and never reach a prototype', (t) => {
  const hostile = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
  const pollution = { kvlistValue: { values: [{ key: 'polluted', value: { stringValue: 'yes' } }] } };
  const request = {
    resourceLogs: [
      {
        resource: { attributes: hostile.map((key) => ({ key, value: pollution })) },
        scopeLogs: [{ logRecords: [{ body: { kvlistValue: { values: hostile.map((key) => ({ key, value: pollution })) } }, attributes: hostile.map((key) => ({ key, value: { stringValue: key } })) }] }],
      },
    ],
  };
  const json = roundTrip(request);

  t.is((({}) as Record<string, unknown>).polluted, undefined);
  t.is(typeof ({}).toString, 'function');
  const parsed = JSON.parse(json) as { resourceLogs: [{ resource: { attributes: { key: string }[] }; scopeLogs: [{ logRecords: [{ attributes: { key: string; value: { stringValue: string } }[] }] }] }] };
  t.deepEqual(parsed.resourceLogs[0].resource.attributes.map((a) => a.key), hostile);
  t.deepEqual(
    parsed.resourceLogs[0].scopeLogs[0].logRecords[0].attributes.map((a) => [a.key, a.value.stringValue]),
    hostile.map((k) => [k, k]),
  );
  t.true(json.includes('{"key":"__proto__","value":{"kvlistValue":{"values":[{"key":"polluted","value":{"stringValue":"yes"}}]}}}'));
});

test('malformed input is a PoisonRecordError that keeps its cause', (t) => {
  const valid = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(oneRecord({ severityText: 'INFO', body: { stringValue: 'hello world' } }))).finish();
  const invalidUtf8 = Buffer.from([0x0a, 0x04, 0x1a, 0x02, 0xff, 0xfe]); // ResourceLogs.schema_url = <ff fe>
  const cases: [string, Uint8Array][] = [
    ['truncated', valid.subarray(0, valid.length - 3)],
    ['length beyond the end', Buffer.from([0x0a, 0x7f, 0x00])],
    ['reserved wire type', Buffer.from([0x0f])],
    ['invalid UTF-8 in a string', invalidUtf8],
    ['nested past the recursion limit', deeplyNested(200)],
  ];
  for (const [name, bytes] of cases) {
    const err = t.throws(() => decodeLogsRequest(bytes), { instanceOf: PoisonRecordError }, name);
    t.is(err?.code, 'GS_POISON_RECORD', name);
    t.truthy(err?.cause, name);
    // The file exporter's transcoder agrees, except that it keeps a string of invalid UTF-8, replaced.
    if (bytes === invalidUtf8) t.is(toJson(bytes), '{"resourceLogs":[{"schemaUrl":"\ufffd\ufffd"}]}', name);
    else t.throws(() => toJson(bytes), { instanceOf: PoisonRecordError, code: 'GS_POISON_RECORD' }, name);
  }
  t.is(decodeLogsRequest(new Uint8Array(0)).resourceLogs.length, 0, 'an empty request is valid');
  t.is(toJson(new Uint8Array(0)), '{}', 'an empty request is valid');
});

test('trace and span ids of the wrong length are poison', (t) => {
  for (const ids of [{ traceId: Buffer.alloc(8, 1) }, { spanId: Buffer.alloc(16, 1) }, { traceId: Buffer.alloc(17, 1), spanId: Buffer.alloc(8, 1) }]) {
    const bytes = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(oneRecord(ids))).finish();
    t.throws(() => decodeLogsRequest(bytes), { instanceOf: PoisonRecordError, message: /trace_id/ });
    t.throws(() => toJson(bytes), { instanceOf: PoisonRecordError, message: /trace_id/ });
  }
});

test('requests serialized by the OpenTelemetry JS SDK decode to what its own JSON serializer says', (t) => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sdk-test', 'host.cores': 8 }, { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('sdk.scope', '9.9.9', { schemaUrl: 'https://opentelemetry.io/schemas/1.21.0', attributes: { 'scope.kind': 'test' } });
  const sampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  logger.emit({
    timestamp: new Date('2024-01-02T03:04:05.678Z'),
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    eventName: 'sdk.event',
    body: { msg: 'hello', count: 3, ratio: 0.25, ok: true, tags: ['a', 'b'], raw: new Uint8Array([1, 2, 254]), nested: { deep: [1, { x: 'y' }] } },
    attributes: { 'http.method': 'GET', big: 2 ** 60, neg: -12, pi: 3.14159, flag: false, list: [1, 2, 3] },
    context: sampled,
  });
  logger.emit({ body: 'no context, no severity' });

  const records = exporter.getFinishedLogRecords();
  t.is(records.length, 2);
  const ours = JSON.parse(toJson((ProtobufLogsSerializer.serializeRequest(records)!))) as unknown;
  const sdk = JSON.parse(Buffer.from(JsonLogsSerializer.serializeRequest(records)!).toString('utf8')) as unknown;
  const expected = normalizeSdkJson(sdk) as { resourceLogs: { resource: { schemaUrl?: string } }[] };
  delete expected.resourceLogs[0].resource.schemaUrl;
  t.deepEqual(canonical(ours), canonical(expected));

  // And the spec-specific details, which the comparison above only covers indirectly.
  const record = (ours as { resourceLogs: [{ scopeLogs: [{ logRecords: Record<string, unknown>[] }] }] }).resourceLogs[0].scopeLogs[0].logRecords[0];
  t.is(record.timeUnixNano, '1704164645678000000');
  t.is(record.traceId, TRACE_ID);
  t.is(record.flags, 1);
  t.is(record.severityNumber, 13);
  t.is(record.eventName, 'sdk.event');
});

test('encodeRetryableStatus yields a google.rpc.Status carrying RetryInfo', (t) => {
  const bytes = encodeRetryableStatus(14, 'rings full', 1500);
  t.true(Buffer.isBuffer(bytes));
  const status = Status.toObject(Status.decode(bytes), { longs: String }) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  t.is(status.code, 14);
  t.is(status.message, 'rings full');
  t.is(status.details.length, 1);
  t.is(status.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
  const retry = RetryInfo.toObject(RetryInfo.decode(status.details[0].value), { longs: String }) as { retryDelay: { seconds: string; nanos: number } };
  t.deepEqual(retry.retryDelay, { seconds: '1', nanos: 500_000_000 });

  t.throws(() => encodeRetryableStatus(14, 'x', -1), { code: 'GS_INVALID_ARGUMENT' });
  t.throws(() => encodeRetryableStatus(14, 'x', NaN), { code: 'GS_INVALID_ARGUMENT' });
  t.throws(() => encodeRetryableStatus(1.5, 'x', 10), { code: 'GS_INVALID_ARGUMENT' });
});

/**
 * A body of `depth` nested single-element arrays: valid protobuf, but deeper than decoders
 * allow. Written field by field because protobufjs's fromObject refuses such depth too.
 */
function deeplyNested(depth: number): Uint8Array {
  const message = (fieldNumber: number, bytes: Uint8Array): Uint8Array => Writer.create().uint32((fieldNumber << 3) | 2).bytes(bytes).finish();
  let anyValue = message(1, Buffer.from('bottom')); // AnyValue.string_value
  for (let i = 0; i < depth; i++) anyValue = message(5, message(1, anyValue)); // AnyValue.array_value → ArrayValue.values
  // LogRecord.body → ScopeLogs.log_records → ResourceLogs.scope_logs → request.resource_logs
  return message(1, message(2, message(2, message(5, anyValue))));
}

/*
 * Where the SDK's JSON serializer differs from the spec, and so from us:
 * - it writes intValue as a JSON number (the spec, following proto3 JSON, says string);
 *   BigInt recovers the exact digits, where String() would print the shortest double form;
 * - it writes some fields at their default value (droppedAttributesCount: 0, flags: 0) that
 *   proto3 JSON leaves out;
 * - it puts schemaUrl inside `resource` as well, a field Resource does not have (its
 *   protobuf serializer, which we decode, correctly leaves it out).
 * AnyValue members are kept as they are: a set oneof member is written even at its default.
 */
const ANY_VALUE_MEMBERS = new Set(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue']);

function normalizeSdkJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeSdkJson);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'intValue') out[key] = BigInt(field as number).toString();
    else if (ANY_VALUE_MEMBERS.has(key)) out[key] = field;
    else if (field === 0 || field === '' || (Array.isArray(field) && field.length === 0)) continue;
    else out[key] = normalizeSdkJson(field);
  }
  return out;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

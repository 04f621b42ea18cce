import test from 'ava';
import { PoisonRecordError } from '../src/common/errors';
import { encodeLinesHeader, LinesTransport } from '../src/common/lines-record';
import { ExportLogsServiceRequest, encodeLogsRequest } from '../src/common/otlp-proto';
import { decodeLinesRecord } from '../src/export/lines-decoder';
import { decodeJsonLogsRequest } from '../src/export/otlp-json-request-decoder';
import { logsRequestToJson } from './helpers/otlp-json-reference';
import { jsonUnitBudget } from '../src/common/otlp-json-scan';
import { jsonRequestCheck, ProtoTopLevelCheck, type BodyCheck } from '../src/ingest/otlp-http-body-check';

const UNITS = jsonUnitBudget(512);

test('OTLP/JSON: hex ids, integer enums, int64 as string or number, unknown fields ignored', (t) => {
  const json = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: '__proto__', value: { intValue: 7 } }], futureField: true },
        scopeLogs: [
          {
            scope: { name: 's' },
            logRecords: [
              {
                timeUnixNano: '1700000000000000001',
                observedTimeUnixNano: 1700000000000,
                severityNumber: 17,
                body: { kvlistValue: { values: [{ key: 'k', value: { bytesValue: 'AQI=' } }] } },
                traceId: '0102030405060708090A0B0C0D0E0F10',
                spanId: '',
                somethingNew: { nested: 1 },
              },
            ],
          },
        ],
      },
    ],
  };
  const decoded = decodeJsonLogsRequest(Buffer.from(JSON.stringify(json)), UNITS);
  t.is(
    logsRequestToJson(decoded),
    '{"resourceLogs":[{"resource":{"attributes":[{"key":"__proto__","value":{"intValue":"7"}}]},"scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"1700000000000000001","observedTimeUnixNano":"1700000000000","severityNumber":17,"body":{"kvlistValue":{"values":[{"key":"k","value":{"bytesValue":"AQI="}}]}},"traceId":"0102030405060708090a0b0c0d0e0f10"}]}]}]}',
  );
  t.is(Object.getPrototypeOf({}).intValue, undefined, 'no key reached a prototype');
  // The same request as protobuf decodes to the same JSON.
  const proto = ExportLogsServiceRequest.encode(decoded as never).finish();
  t.is(logsRequestToJson(ExportLogsServiceRequest.decode(proto) as never), logsRequestToJson(decoded));
});

test('OTLP/JSON that cannot be decoded is poison', (t) => {
  for (const bad of ['{"resourceLogs":', '[1]', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"abc"}]}]}]}', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"zz00000000000000"}]}]}]}', '{"resourceLogs":"nope"}']) {
    t.throws(() => decodeJsonLogsRequest(Buffer.from(bad), UNITS), { instanceOf: PoisonRecordError }, bad);
  }
});

test('a lines record decodes to one LogRecord a line, CR of CRLF and blank lines dropped, the peer as attributes', (t) => {
  const payload = Buffer.concat([encodeLinesHeader(LinesTransport.Tcp, '10.0.0.1:99'), Buffer.from('a\r\nb\n')]);
  const request = decodeLinesRecord({ payload, receivedMs: 1764230000123 });
  t.deepEqual(request.resourceLogs[0].scopeLogs[0].logRecords.map((r) => r.body?.stringValue), ['a', 'b']);
  t.like(request.resourceLogs[0].resource?.attributes.find((a) => a.key === 'network.peer.port')?.value, { value: 'intValue', intValue: 99 }, 'an int, as the semantic conventions have it');
});

function run(check: BodyCheck, body: Buffer, step: number): string | undefined {
  for (let at = 0; at < body.length; at += step) {
    const problem = check.push(body.subarray(at, at + step));
    if (problem !== undefined) return problem;
  }
  return check.finish();
}

test('the protobuf structural check accepts real requests in any cutting and refuses broken ones', (t) => {
  const valid = Buffer.from(
    ExportLogsServiceRequest.encode(
      ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(300) } }] }] }, { schemaUrl: 'u' }] }),
    ).finish(),
  );
  for (const step of [1, 2, 7, 1000]) t.is(run(new ProtoTopLevelCheck(), valid, step), undefined);
  t.is(run(new ProtoTopLevelCheck(), Buffer.alloc(0), 1), undefined, 'an empty request is valid protobuf');
  t.regex(run(new ProtoTopLevelCheck(), valid.subarray(0, valid.length - 1), 3)!, /truncated/);
  t.regex(run(new ProtoTopLevelCheck(), Buffer.from([0x08, 0x01]), 1)!, /resource_logs with wire type 0/);
  t.regex(run(new ProtoTopLevelCheck(), Buffer.from([0x13]), 1)!, /wire type 3/);
  t.regex(run(new ProtoTopLevelCheck(), Buffer.alloc(12, 0xff), 1)!, /longer than 10 bytes/);
  t.is(run(new ProtoTopLevelCheck(), Buffer.from([0x10, 0x05, 0x19, 1, 2, 3, 4, 5, 6, 7, 8]), 1), undefined, 'unknown fields are skipped');
});

const wrap = (record: string): string => `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${record}]}]}]}`;

test('the JSON check accepts valid requests in any cutting, in camelCase and .proto names', (t) => {
  const valid = [
    ' \n{}\n ',
    '{"resourceLogs":[]}',
    '{"resourceLogs":null,"x":1}',
    wrap('{"timeUnixNano":"1700000000000000001","observedTimeUnixNano":1700000000000,"severityNumber":"SEVERITY_NUMBER_WARN","body":{"kvlistValue":{"values":[{"key":"k","value":{"bytesValue":"AQI="}}]}},"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"","flags":1,"future":{"a":[1,"\\ud83d\\ude00",null,true]}}'),
    wrap('{"body":{"arrayValue":{"values":[{"doubleValue":-1.5e3},{"doubleValue":"NaN"},{"intValue":-9223372036854775808},{"boolValue":false},{}]}},"attributes":[{"key":"é😀","value":null}]}'),
    '{"resource_logs":[{"scope_logs":[{"log_records":[{"time_unix_nano":"1","severity_number":9,"dropped_attributes_count":"3"}]}],"resource":{"entity_refs":[{"id_keys":["a"]}]}}]}',
  ];
  for (const body of valid) for (const step of [1, 3, 1000]) t.is(run(jsonRequestCheck(UNITS), Buffer.from(body), step), undefined, body);
});

test('the JSON check refuses bad JSON and wrong shapes with a reason', (t) => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['[]', /does not start/],
    ['{"resourceLogs": [ {"oops" }', /expected ":"/],
    ['{"resourceLogs":[]', /truncated/],
    ['{"resourceLogs":[]} x', /after its JSON object/],
    ['{"resourcelogs":[]}', /did you mean "resourceLogs"/],
    ['{"resourceLogs":{}}', /field "resourceLogs" must be an array or null, not an object/],
    [wrap('').replace('[]', '7'), /logRecords/],
    ['{"resourceLogs":[{"scopeLogs":[{"logRecords":{}}]}]}', /field "logRecords" must be an array/],
    ['{"resourceLogs":[null]}', /null element/],
    [wrap('{"traceId":"abc"}'), /32 hex digits/],
    [wrap('{"spanId":"zz00000000000000"}'), /hex digits/],
    [wrap('{"timeUnixNano":18446744073709551616}'), /out of range/],
    [wrap('{"timeUnixNano":-1}'), /negative/],
    [wrap('{"timeUnixNano":1.5}'), /integer/],
    [wrap('{"severityNumber":"LOUD"}'), /SeverityNumber/],
    [wrap('{"severityText":5}'), /must be a string/],
    [wrap('{"body":{"doubleValue":1e400}}'), /range of a double/],
    [wrap('{"body":{"bytesValue":"A"}}'), /base64/],
    [wrap('{"body":{"stringValue":"\\ud800"}}'), /lone surrogate/],
    [wrap('{"body":{"stringValue":"\\udc00x"}}'), /lone surrogate/],
    [wrap('{"body":{"stringValue":"\u0001"}}'), /control character/],
    [wrap('{"body":{"boolValue":"true"}}'), /true, false or null/],
    ['{"a":' + '['.repeat(100_000), /deeper than 128/],
    ['{"a":01}', /expected "," or "}"/],
    ['{"a":tru}', /literal/],
  ];
  for (const [body, reason] of bad) for (const step of [1, 1000]) t.regex(run(jsonRequestCheck(UNITS), Buffer.from(body), step) ?? 'accepted', reason, body);
  t.regex(run(jsonRequestCheck(UNITS), Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), 1)!, /UTF-8/);
});

test('the JSON check and the exporter refuse a request heavier than the budget', (t) => {
  const body = Buffer.from(wrap(Array(1000).fill('{}').join(',')));
  t.is(run(jsonRequestCheck(2010), body, 4096), undefined, '1000 records, 1000 values and 6 containers fit');
  t.regex(run(jsonRequestCheck(1900), body, 4096)!, /too large to decode: more than 1900 units/);
  t.throws(() => decodeJsonLogsRequest(body, 1900), { instanceOf: PoisonRecordError, message: /too large/ });
  t.is(decodeJsonLogsRequest(body, 2010).resourceLogs[0].scopeLogs[0].logRecords.length, 1000);
});

test('the exporter decodes .proto field names as their lowerCamelCase', (t) => {
  const decoded = decodeJsonLogsRequest(Buffer.from('{"resource_logs":[{"scope_logs":[{"log_records":[{"time_unix_nano":"5","body":{"string_value":"x"}}]}]}]}'), UNITS);
  t.is(logsRequestToJson(decoded), '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"5","body":{"stringValue":"x"}}]}]}]}');
});

test('an empty AnyValue inside an arrayValue survives the JSON to protobuf path (found by fuzz-otlp: it made encode throw a TypeError, retried forever)', (t) => {
  const decoded = decodeJsonLogsRequest(Buffer.from(wrap('{"body":{"arrayValue":{"values":[{},{"intValue":"1"}]}}}')), UNITS);
  const proto = encodeLogsRequest(decoded);
  t.is(logsRequestToJson(ExportLogsServiceRequest.decode(proto) as never), logsRequestToJson(decoded));
  t.is(logsRequestToJson(decoded), wrap('{"body":{"arrayValue":{"values":[{},{"intValue":"1"}]}}}'));
});

import test from 'ava';
import { PoisonRecordError } from '../src/common/errors';
import { encodeLinesHeader, LinesTransport } from '../src/common/lines-record';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { decodeLinesRecord } from '../src/export/lines-decoder';
import { decodeJsonLogsRequest } from '../src/export/otlp-json-request-decoder';
import { logsRequestToJson } from './helpers/otlp-json-reference';
import { JsonObjectCheck, ProtoTopLevelCheck, type BodyCheck } from '../src/ingest/otlp-http-body-check';

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
  const decoded = decodeJsonLogsRequest(Buffer.from(JSON.stringify(json)));
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
    t.throws(() => decodeJsonLogsRequest(Buffer.from(bad)), { instanceOf: PoisonRecordError }, bad);
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

test('the JSON check wants one object', (t) => {
  t.is(run(new JsonObjectCheck(), Buffer.from(' \n{"a":1}\n '), 2), undefined);
  t.regex(run(new JsonObjectCheck(), Buffer.from('[]'), 1)!, /does not start/);
  t.regex(run(new JsonObjectCheck(), Buffer.from('{"a":'), 1)!, /does not end/);
  t.regex(run(new JsonObjectCheck(), Buffer.from('  '), 1)!, /empty/);
});

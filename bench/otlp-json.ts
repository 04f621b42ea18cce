/**
 * `npm run bench:otlp-json`: what the file and stdout exporters spend per log record to
 * write a protobuf request as OTLP/JSON, in one process on one core, on requests of
 * B = 1000 records already enriched (spliced), median of 3 trials:
 *
 *   protobufjs, reference   decode with protobufjs, walk the objects to a string, encode it
 *                           into the buffer: the path before the transcoder
 *   transcoder              OtlpJsonTranscoder.write, straight from the bytes
 *
 * Two request shapes: records as an SDK sends them (timestamps, severity, a 120-byte body,
 * five attributes of four kinds, trace and span ids), and empty records (the hostile shape
 * of test/hostile-poison-request.test.ts, two bytes a record). The transcoder's row gives
 * its ratio to the reference of the same invocation.
 *
 * Time is the process's CPU time, not the wall clock: on a machine shared with other work
 * (where this was written) the wall clock counts the time the process waited for a core.
 */
import { validateConfig } from '../src/common/config';
import { ExportLogsServiceRequest, decodeLogsRequest } from '../src/common/otlp-proto';
import { resourceSplicer } from '../src/export/enrichment';
import { JsonBytes } from '../src/export/json-bytes';
import { OtlpJsonTranscoder } from '../src/export/otlp-json-transcoder';
import { logsRequestToJson } from '../test/helpers/otlp-json-reference';
import { describeMachine, median } from './report';

const RECORDS_PER_REQUEST = 1000;
const REPETITIONS = 100;
const TRIALS = 3;

function sdkLikeRequest(): Uint8Array {
  const logRecords = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => ({
    timeUnixNano: String(1764230000000000000n + BigInt(i) * 1000n),
    observedTimeUnixNano: String(1764230000000500000n + BigInt(i) * 1000n),
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `GET /api/v1/orders/${String(i).padStart(8, '0')} 200 12ms user="alice" ${'x'.repeat(80)}` },
    attributes: [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.status_code', value: { intValue: 200 } },
      { key: 'http.route', value: { stringValue: '/api/v1/orders/:id' } },
      { key: 'cache.hit', value: { boolValue: i % 2 === 0 } },
      { key: 'duration.ms', value: { doubleValue: 12.5 } },
    ],
    traceId: Buffer.alloc(16, i & 0xff),
    spanId: Buffer.alloc(8, (i >> 8) & 0xff),
    flags: 1,
  }));
  return ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeLogs: [{ scope: { name: 'bench', version: '1.0.0' }, logRecords }],
        },
      ],
    }),
  ).finish();
}

function emptyRequest(): Uint8Array {
  return ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: RECORDS_PER_REQUEST }, () => ({})) }] }] })).finish();
}

/** CPU nanoseconds per call of `fn`: the median of TRIALS runs of REPETITIONS calls. */
function cpuNanosPerCall(fn: () => void): number {
  const runs: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const start = process.cpuUsage();
    for (let i = 0; i < REPETITIONS; i++) fn();
    const used = process.cpuUsage(start);
    runs.push(((used.user + used.system) * 1000) / REPETITIONS);
  }
  return median(runs);
}

function main(): void {
  console.log(describeMachine());
  const splicer = resourceSplicer(validateConfig({}).enrich);
  const out = new JsonBytes();
  const transcoder = new OtlpJsonTranscoder();
  console.log(`| request (B = ${RECORDS_PER_REQUEST}) | path | ns per record | records/s on one core | vs reference |`);
  console.log('|---|---|---:|---:|---:|');
  for (const [shape, request] of [
    ['SDK-like records', sdkLikeRequest()],
    ['empty records', emptyRequest()],
  ] as const) {
    const bytes = splicer.splice(request);
    const paths: Array<[string, () => void]> = [
      [
        'protobufjs, reference',
        () => {
          out.reset();
          out.text(logsRequestToJson(decodeLogsRequest(bytes)));
          out.ascii('\n');
        },
      ],
      [
        'transcoder',
        () => {
          out.reset();
          transcoder.write(bytes, out);
          out.ascii('\n');
        },
      ],
    ];
    let reference = 0;
    for (const [path, fn] of paths) {
      for (let i = 0; i < REPETITIONS / 4; i++) fn();
      const ns = cpuNanosPerCall(fn) / RECORDS_PER_REQUEST;
      if (path.endsWith('reference')) reference = ns;
      const ratio = path.endsWith('reference') ? '' : `${(reference / ns).toFixed(1)}x`;
      console.log(`| ${shape} | ${path} | ${ns.toFixed(0)} | ${Math.round(1e9 / ns).toLocaleString('en-US')} | ${ratio} |`);
    }
  }
}

main();

/**
 * `npm run bench:lines-export`: what the exporter spends per line of a lines record, in one
 * process, on one 64 KiB record of the lines bench's lines (200 bytes, nothing to escape)
 * and on the same record with a quoted word in every line (two escapes a line). Median of 5
 * trials, each stage timed alone:
 *
 *   json, reference        build the records, encode, splice the enrichment, decode,
 *                          walk to OTLP/JSON, encode the text: what the export path did
 *                          before lines had a path of their own
 *   json, from the bytes   LinesRequest.writeOtlpJson (file and stdout exporters)
 *   protobuf, reference    build the records, encode, splice the enrichment
 *   protobuf, from bytes   LinesRequest.encode (forwarding exporters)
 *
 * Each "from the bytes" row is compared with its reference row of the same invocation.
 */
import { validateConfig } from '../src/common/config';
import { encodeLinesHeader, LinesTransport } from '../src/common/lines-record';
import { decodeLogsRequest, encodeLogsRequest } from '../src/common/otlp-proto';
import { attributeMerge, resourceSplicer } from '../src/export/enrichment';
import { JsonBytes } from '../src/export/json-bytes';
import { OtlpJsonTranscoder } from '../src/export/otlp-json-transcoder';
import { decodeLinesRecord } from '../src/export/lines-decoder';
import { logsRequestToJson } from '../test/helpers/otlp-json-reference';
import { LINE_TOKEN } from './lines-load';
import { describeMachine, microsPerCall } from './report';

const RECORD_BYTES = 64 * 1024;
const LINE_BYTES = 200;
const REPETITIONS = 300;

function record(quoted: boolean): { payload: Buffer; receivedMs: number; lines: number } {
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes + LINE_BYTES <= RECORD_BYTES; i++) {
    const head = `${LINE_TOKEN}${String(i).padStart(10, '0')} ${quoted ? 'GET "/api/v1/orders" ' : ''}`;
    const line = `${head}${'x'.repeat(LINE_BYTES - head.length - 1)}\n`;
    lines.push(line);
    bytes += line.length;
  }
  const payload = Buffer.concat([encodeLinesHeader(LinesTransport.Tcp, '127.0.0.1:40000'), Buffer.from(lines.join(''))]);
  return { payload, receivedMs: Date.now(), lines: lines.length };
}

function main(): void {
  console.log(describeMachine());
  const enrich = validateConfig({}).enrich;
  const splicer = resourceSplicer(enrich);
  const merge = attributeMerge(enrich);
  const out = new JsonBytes();
  const transcoder = new OtlpJsonTranscoder();
  console.log('| record | stage | ns per line | lines/s on one core | vs reference |');
  console.log('|---|---|---:|---:|---:|');
  for (const quoted of [false, true]) {
    const r = record(quoted);
    const stages: Array<[string, () => unknown]> = [
      ['json, reference', () => Buffer.from(`${logsRequestToJson(decodeLogsRequest(splicer.splice(encodeLogsRequest(decodeLinesRecord(r)))))}\n`)],
      [
        'json, from the bytes',
        () => {
          out.reset();
          decodeLinesRecord(r, merge).writeOtlpJson(out, transcoder);
          out.ascii('\n');
        },
      ],
      ['protobuf, reference', () => splicer.splice(encodeLogsRequest(decodeLinesRecord(r)))],
      ['protobuf, from the bytes', () => decodeLinesRecord(r, merge).encode()],
    ];
    let reference = 0;
    for (const [stage, fn] of stages) {
      for (let i = 0; i < REPETITIONS / 10; i++) fn();
      const ns = (microsPerCall(REPETITIONS, fn) * 1000) / r.lines;
      if (stage.endsWith('reference')) reference = ns;
      const ratio = stage.endsWith('reference') ? '' : `${(reference / ns).toFixed(1)}x`;
      console.log(`| ${quoted ? 'two escapes a line' : 'plain'} | ${stage} | ${ns.toFixed(0)} | ${Math.round(1e9 / ns).toLocaleString('en-US')} | ${ratio} |`);
    }
  }
}

main();

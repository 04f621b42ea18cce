/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line),
 * with the enrichment merged in.
 *
 * The file and stdout exporters get the OTLP/JSON straight from the text, one string a line
 * (`toOtlpJson`); forwarding exporters get it encoded to protobuf. Neither goes through a
 * decode of the other: lines are the cheapest input there is, and the export path is where
 * they would otherwise cost the most.
 */
import * as protobuf from 'protobufjs';
import { decodeLinesHeader, LinesTransport } from '../common/lines-record';
import { anyValueOf, type Int64, type OtlpKeyValue, type OtlpLogRecord, type OtlpLogsRequest, type OtlpResourceLogs } from '../common/otlp-proto';
import type { RingRecord } from '../common/ring';
import type { AttributeMerge } from './enrichment';
import { resourceJson, type WritesOwnJson } from './otlp-json';

export const LINES_SCOPE_NAME = 'gophership/lines';

const EMPTY_BYTES = new Uint8Array(0);
const CR = 0x0d;

export function decodeLinesRecord(record: Pick<RingRecord, 'payload' | 'receivedMs'>, merge: AttributeMerge = (attributes) => attributes): LinesRequest {
  const header = decodeLinesHeader(record.payload);
  const { payload } = record;
  // Text at once: the record is shared memory that the ring reuses once the batch is committed.
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8', header.linesOffset);
  return new LinesRequest(text, record.receivedMs, merge(peerAttributes(header.transport, header.source)));
}

export class LinesRequest implements OtlpLogsRequest, WritesOwnJson {
  private decoded: OtlpResourceLogs[] | undefined;

  constructor(
    /** The lines, each ending in "\n". */
    private readonly text: string,
    private readonly receivedMs: number,
    private readonly resourceAttributes: readonly OtlpKeyValue[],
  ) {}

  get resourceLogs(): readonly OtlpResourceLogs[] {
    this.decoded ??= this.decode();
    return this.decoded;
  }

  /** LogRecords in the request, counted without building them. */
  get logRecordCount(): number {
    let n = 0;
    this.eachLine(() => n++);
    return n;
  }

  toOtlpJson(): string {
    const nanos = this.observedNanos();
    const head = nanos === '0' ? '{"body":{"stringValue":' : `{"observedTimeUnixNano":"${nanos}","body":{"stringValue":`;
    let records = '';
    this.eachLine((line) => (records += `${records.length === 0 ? '' : ','}${head}${JSON.stringify(line)}}}`));
    if (records.length === 0) return '{}';
    const resource = resourceJson({ attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] });
    return `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"scope":{"name":"${LINES_SCOPE_NAME}"},"logRecords":[${records}]}]}]}`;
  }

  private eachLine(visit: (line: string) => void): void {
    const text = this.text;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const stop = end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end;
      if (stop > start) visit(text.slice(start, stop));
      start = end + 1;
    }
  }

  private observedNanos(): string {
    const ms = Math.trunc(this.receivedMs);
    return ms === 0 ? '0' : `${ms}000000`;
  }

  private decode(): OtlpResourceLogs[] {
    const nanos = BigInt(this.observedNanos());
    const observed: Int64 = new protobuf.util.Long(Number(nanos & 0xffffffffn) | 0, Number(nanos >> 32n) | 0, true);
    const logRecords: OtlpLogRecord[] = [];
    this.eachLine((line) =>
      logRecords.push({
        timeUnixNano: 0,
        observedTimeUnixNano: observed,
        severityNumber: 0,
        severityText: '',
        body: anyValueOf(line),
        attributes: [],
        droppedAttributesCount: 0,
        flags: 0,
        traceId: EMPTY_BYTES,
        spanId: EMPTY_BYTES,
        eventName: '',
      }),
    );
    if (logRecords.length === 0) return [];
    return [
      {
        resource: { attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] },
        scopeLogs: [{ scope: { name: LINES_SCOPE_NAME, version: '', attributes: [], droppedAttributesCount: 0 }, logRecords, schemaUrl: '' }],
        schemaUrl: '',
      },
    ];
  }
}

function peerAttributes(transport: LinesTransport, source: string): OtlpKeyValue[] {
  const attributes = [keyValue('gophership.receiver', 'lines')];
  if (transport === LinesTransport.Unix) {
    attributes.push(keyValue('network.transport', 'unix'), keyValue('network.local.address', source));
  } else {
    const colon = source.lastIndexOf(':');
    attributes.push(keyValue('network.transport', 'tcp'), keyValue('network.peer.address', source.slice(0, colon)), keyValue('network.peer.port', source.slice(colon + 1)));
  }
  return attributes;
}

function keyValue(key: string, value: string): OtlpKeyValue {
  return { key, value: anyValueOf(value) };
}

/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line).
 *
 * The decoded form is built only when something asks for it. The file exporter asks for the
 * OTLP/JSON text instead, which is written straight from the record's text: most records
 * hold no byte that JSON must escape, and then the whole record is one native replace of
 * "\n" by the text between two records' bodies. That is what lets the lines path keep up
 * with line-oriented peers (docs/benchmarks.md).
 */
import * as protobuf from 'protobufjs';
import { decodeLinesHeader, LinesTransport } from '../common/lines-record';
import type {
  Int64,
  OtlpAnyValue,
  OtlpKeyValue,
  OtlpLogRecord,
  OtlpLogsRequest,
  OtlpResourceLogs,
} from '../common/otlp-proto';
import type { RingRecord } from '../common/ring';
import { logsRequestToJson } from './otlp-json';

export const LINES_SCOPE_NAME = 'gophership/lines';

/** Bytes that must be escaped in a JSON string, and the blank lines and CRs that are not bodies. */
const NEEDS_SLOW_PATH = /[\x00-\x09\x0b-\x1f"\\]|\n\n|^\n/;
const EMPTY_BYTES = new Uint8Array(0);

export function decodeLinesRecord(record: Pick<RingRecord, 'payload' | 'receivedMs'>): LinesRequest {
  const header = decodeLinesHeader(record.payload);
  const lines = record.payload.subarray(header.linesOffset);
  const text = Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength).toString('utf8');
  return new LinesRequest(text, record.receivedMs, header.transport, header.source);
}

export class LinesRequest implements OtlpLogsRequest {
  private decoded: OtlpResourceLogs[] | undefined;

  constructor(
    /** The lines, each ending in "\n". */
    private readonly text: string,
    private readonly receivedMs: number,
    private readonly transport: LinesTransport,
    private readonly source: string,
  ) {}

  get resourceLogs(): readonly OtlpResourceLogs[] {
    this.decoded ??= this.decode();
    return this.decoded;
  }

  /**
   * The OTLP/JSON of this request. Once the decoded form was handed out it may have been
   * changed (enriched), and is then what gets written.
   */
  toJson(): string {
    if (this.decoded !== undefined || this.text.length === 0) return logsRequestToJson(this);
    const nanos = this.observedNanos();
    const open = `{"observedTimeUnixNano":"${nanos}","body":{"stringValue":`;
    let records: string;
    if (!NEEDS_SLOW_PATH.test(this.text)) {
      records = `${open}"${this.text.slice(0, -1).replaceAll('\n', `"}},${open}"`)}"}}`;
    } else {
      const parts: string[] = [];
      for (const line of this.lines()) parts.push(`${open}${JSON.stringify(line)}}}`);
      if (parts.length === 0) return '{}';
      records = parts.join(',');
    }
    const attributes = this.attributes()
      .map((a) => `{"key":${JSON.stringify(a.key)},"value":{"stringValue":${JSON.stringify(a.value!.stringValue)}}}`)
      .join(',');
    return `{"resourceLogs":[{"resource":{"attributes":[${attributes}]},"scopeLogs":[{"scope":{"name":"${LINES_SCOPE_NAME}"},"logRecords":[${records}]}]}]}`;
  }

  private *lines(): Generator<string> {
    let start = 0;
    for (let end = this.text.indexOf('\n'); end !== -1; end = this.text.indexOf('\n', start)) {
      const line = this.text.charCodeAt(end - 1) === 0x0d && end > start ? this.text.slice(start, end - 1) : this.text.slice(start, end);
      start = end + 1;
      if (line.length > 0) yield line;
    }
  }

  private observedNanos(): string {
    return `${Math.trunc(this.receivedMs)}000000`;
  }

  private attributes(): OtlpKeyValue[] {
    const attributes = [keyValue('gophership.receiver', 'lines')];
    if (this.transport === LinesTransport.Unix) {
      attributes.push(keyValue('network.transport', 'unix'), keyValue('network.local.address', this.source));
    } else {
      const colon = this.source.lastIndexOf(':');
      attributes.push(
        keyValue('network.transport', 'tcp'),
        keyValue('network.peer.address', this.source.slice(0, colon)),
        keyValue('network.peer.port', this.source.slice(colon + 1)),
      );
    }
    return attributes;
  }

  private decode(): OtlpResourceLogs[] {
    const nanos = BigInt(this.observedNanos());
    const observed: Int64 = new protobuf.util.Long(Number(nanos & 0xffffffffn) | 0, Number(nanos >> 32n) | 0, true);
    const logRecords: OtlpLogRecord[] = [];
    for (const line of this.lines()) {
      logRecords.push({
        timeUnixNano: 0,
        observedTimeUnixNano: observed,
        severityNumber: 0,
        severityText: '',
        body: stringValue(line),
        attributes: [],
        droppedAttributesCount: 0,
        flags: 0,
        traceId: EMPTY_BYTES,
        spanId: EMPTY_BYTES,
        eventName: '',
      });
    }
    if (logRecords.length === 0) return [];
    return [
      {
        resource: { attributes: this.attributes(), droppedAttributesCount: 0, entityRefs: [] },
        scopeLogs: [{ scope: { name: LINES_SCOPE_NAME, version: '', attributes: [], droppedAttributesCount: 0 }, logRecords, schemaUrl: '' }],
        schemaUrl: '',
      },
    ];
  }
}

function keyValue(key: string, value: string): OtlpKeyValue {
  return { key, value: stringValue(value) };
}

function stringValue(value: string): OtlpAnyValue {
  return {
    value: 'stringValue',
    stringValue: value,
    boolValue: false,
    intValue: 0,
    doubleValue: 0,
    arrayValue: null,
    kvlistValue: null,
    bytesValue: EMPTY_BYTES,
  };
}

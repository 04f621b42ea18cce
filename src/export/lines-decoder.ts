/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line),
 * with the enrichment merged in.
 *
 * The file and stdout exporters get the OTLP/JSON written straight from the received bytes
 * (`writeOtlpJson`), with no string or object per line; forwarding exporters get it encoded
 * to protobuf. Neither goes through a decode of the other: lines are the cheapest input
 * there is, and the export path is where they would otherwise cost the most.
 */
import { isUtf8 } from 'node:buffer';
import * as protobuf from 'protobufjs';
import { decodeLinesHeader, LinesTransport } from '../common/lines-record';
import { anyValueOf, encodeLogsRequest, encodeResource, type Int64, type OtlpKeyValue, type OtlpLogRecord, type OtlpLogsRequest, type OtlpResourceLogs } from '../common/otlp-proto';
import { Field, encodeLenField } from '../common/otlp-wire';
import type { RingRecord } from '../common/ring';
import type { AttributeMerge } from './enrichment';
import type { JsonBytes, WritesJsonBytes } from './json-bytes';
import { encodeLinesRequest } from './lines-wire';
import { resourceJson } from './otlp-json';

export const LINES_SCOPE_NAME = 'gophership/lines';

const EMPTY_BYTES = new Uint8Array(0);
const REQUEST_TAIL = ']}]}]}';
const RECORD_TAIL = Buffer.from('}}');
/** The serialized InstrumentationScope every lines record has. */
const SCOPE: Uint8Array = encodeLenField(Field.ScopeName, Buffer.from(LINES_SCOPE_NAME));
const NEWLINE = 0x0a;
const CR = 0x0d;

export function decodeLinesRecord(record: Pick<RingRecord, 'payload' | 'receivedMs'>, merge: AttributeMerge = (attributes) => attributes): LinesRequest {
  const header = decodeLinesHeader(record.payload);
  // A copy: the record is shared memory that the ring reuses once the batch is committed.
  const bytes = Buffer.from(record.payload.subarray(header.linesOffset));
  return new LinesRequest(bytes, record.receivedMs, merge(peerAttributes(header.transport, header.source)));
}

export class LinesRequest implements OtlpLogsRequest, WritesJsonBytes {
  private decoded: OtlpResourceLogs[] | undefined;
  private decodedText: string | undefined;

  constructor(
    /** The lines as received, each ending in "\n". */
    private readonly bytes: Buffer,
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
    this.eachLineOf(this.bytes, () => n++);
    return n;
  }

  /**
   * The request's OTLP/JSON, as logsRequestToJson would write it, from the bytes: each line
   * is copied, escaped where JSON needs it. Lines that are not valid UTF-8 go through the
   * text instead, which has them with U+FFFD where the bytes were invalid.
   */
  writeOtlpJson(out: JsonBytes): void {
    const { bytes } = this;
    if (!isUtf8(bytes)) return out.text(this.toOtlpJson());
    const head = Buffer.from(`,${this.recordHead()}`, 'latin1');
    const firstHead = head.subarray(1);
    let first = true;
    this.eachLineOf(bytes, (start, end) => {
      if (first) out.text(this.requestHead());
      out.bytes(first ? firstHead : head);
      out.stringOf(bytes, start, end);
      out.bytes(RECORD_TAIL);
      first = false;
    });
    out.ascii(first ? '{}' : REQUEST_TAIL);
  }

  /**
   * The request serialized for a forwarding exporter, as encodeLogsRequest would serialize
   * it, written from the bytes (from the records built from the text when the bytes are not
   * valid UTF-8).
   */
  encode(): Uint8Array {
    const { bytes } = this;
    if (!isUtf8(bytes)) return encodeLogsRequest(this);
    return encodeLinesRequest({
      bytes,
      eachLine: (visit) => this.eachLineOf(bytes, visit),
      resource: encodeResource({ attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] }),
      scope: SCOPE,
      observedNanos: BigInt(this.observedNanos()),
    });
  }

  /** The same JSON as a string, from the text. */
  toOtlpJson(): string {
    const head = this.recordHead();
    let records = '';
    const text = this.text();
    this.eachLineOf(text, (start, end) => (records += `${records.length === 0 ? '' : ','}${head}${JSON.stringify(text.slice(start, end))}}}`));
    return records.length === 0 ? '{}' : `${this.requestHead()}${records}${REQUEST_TAIL}`;
  }

  private requestHead(): string {
    const resource = resourceJson({ attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] });
    return `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"scope":{"name":"${LINES_SCOPE_NAME}"},"logRecords":[`;
  }

  /** A LogRecord's JSON up to its body's string. */
  private recordHead(): string {
    const nanos = this.observedNanos();
    return nanos === '0' ? '{"body":{"stringValue":' : `{"observedTimeUnixNano":"${nanos}","body":{"stringValue":`;
  }

  private text(): string {
    this.decodedText ??= this.bytes.toString('utf8');
    return this.decodedText;
  }

  /**
   * Calls `visit` with the bounds of each non-empty line, its "\n" and a "\r" before it left
   * out. Works alike on the bytes and on the text: both line ends are single ASCII units, and
   * decoding invalid UTF-8 never swallows one.
   */
  private eachLineOf(lines: Buffer | string, visit: (start: number, end: number) => void): void {
    let start = 0;
    for (let end = lineEnd(lines, 0); end !== -1; end = lineEnd(lines, start)) {
      const stop = end > start && unitAt(lines, end - 1) === CR ? end - 1 : end;
      if (stop > start) visit(start, stop);
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
    const text = this.text();
    this.eachLineOf(text, (start, end) =>
      logRecords.push({
        timeUnixNano: 0,
        observedTimeUnixNano: observed,
        severityNumber: 0,
        severityText: '',
        body: anyValueOf(text.slice(start, end)),
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

function lineEnd(lines: Buffer | string, from: number): number {
  return typeof lines === 'string' ? lines.indexOf('\n', from) : lines.indexOf(NEWLINE, from);
}

function unitAt(lines: Buffer | string, index: number): number {
  return typeof lines === 'string' ? lines.charCodeAt(index) : lines[index];
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

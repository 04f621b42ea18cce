/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line),
 * with the enrichment merged in.
 *
 * The file and stdout exporters get the OTLP/JSON written straight from the received bytes
 * (`writeOtlpJson`), with no string or object per line; forwarding exporters get protobuf
 * written from the same bytes (`encode`, lines-wire.ts). Neither goes through a decode of the other: lines are the cheapest input
 * there is, and the export path is where they would otherwise cost the most.
 */
import { isUtf8 } from 'node:buffer';
import * as protobuf from 'protobufjs';
import { decodeLinesHeader, LinesTransport } from '../common/lines-record';
import { anyValueOf, encodeResource, type Int64, type OtlpKeyValue, type OtlpLogRecord, type OtlpLogsRequest, type OtlpResourceLogs } from '../common/otlp-proto';
import { Field, encodeLenField } from '../common/otlp-wire';
import type { RingRecord } from '../common/ring';
import type { AttributeMerge } from './enrichment';
import type { JsonBytes } from './json-bytes';
import { encodeLinesRequest } from './lines-wire';
import type { OtlpJsonTranscoder } from './otlp-json-transcoder';

const LINES_SCOPE_NAME = 'gophership/lines';

const EMPTY_BYTES = new Uint8Array(0);
const REQUEST_TAIL = ']}]}]}';
const RECORD_TAIL = Buffer.from('}}');
/** The serialized InstrumentationScope every lines record has. */
const SCOPE: Uint8Array = encodeLenField(Field.ScopeName, Buffer.from(LINES_SCOPE_NAME));
const NEWLINE = 0x0a;
const CR = 0x0d;

export function decodeLinesRecord(record: Pick<RingRecord, 'payload' | 'receivedMs'>, merge: AttributeMerge = (attributes) => attributes): LinesRequest {
  const header = decodeLinesHeader(record.payload);
  const { payload } = record;
  // A view of the ring, valid until its batch is committed, which is after every exporter
  // is done with the request (exporter.ts); copied only to replace invalid UTF-8 with
  // U+FFFD, which never swallows a line end ("\r" and "\n" are ASCII).
  const received = Buffer.from(payload.buffer, payload.byteOffset + header.linesOffset, payload.byteLength - header.linesOffset);
  const bytes = isUtf8(received) ? received : Buffer.from(received.toString('utf8'));
  return new LinesRequest(bytes, record.receivedMs, merge(peerAttributes(header.transport, header.source)));
}

export class LinesRequest implements OtlpLogsRequest {
  private decoded: OtlpResourceLogs[] | undefined;

  constructor(
    /** The lines, valid UTF-8, each ending in "\n". */
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
    this.eachLine(() => n++);
    return n;
  }

  /**
   * The request's OTLP/JSON, as the transcoder would write the request encode() gives: each
   * line copied, escaped where JSON needs it; the resource (once a record) by the transcoder.
   */
  writeOtlpJson(out: JsonBytes, transcoder: OtlpJsonTranscoder): void {
    const { bytes } = this;
    const nanos = this.observedNanos();
    const head = Buffer.from(nanos === '0' ? ',{"body":{"stringValue":' : `,{"observedTimeUnixNano":"${nanos}","body":{"stringValue":`, 'latin1');
    const firstHead = head.subarray(1);
    let first = true;
    this.eachLine((start, end) => {
      if (first) {
        out.ascii('{"resourceLogs":[{"resource":');
        transcoder.writeResource(encodeResource({ attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] }), out);
        out.ascii(`,"scopeLogs":[{"scope":{"name":"${LINES_SCOPE_NAME}"},"logRecords":[`);
      }
      out.bytes(first ? firstHead : head);
      out.stringOf(bytes, start, end);
      out.bytes(RECORD_TAIL);
      first = false;
    });
    out.ascii(first ? '{}' : REQUEST_TAIL);
  }

  /** The request serialized for a forwarding exporter, as encodeLogsRequest would serialize it, written from the bytes. */
  encode(): Uint8Array {
    return encodeLinesRequest({
      bytes: this.bytes,
      eachLine: (visit) => this.eachLine(visit),
      resource: encodeResource({ attributes: this.resourceAttributes, droppedAttributesCount: 0, entityRefs: [] }),
      scope: SCOPE,
      observedNanos: BigInt(this.observedNanos()),
    });
  }

  /** Calls `visit` with the bounds of each non-empty line, its "\n" and a "\r" before it left out. */
  private eachLine(visit: (start: number, end: number) => void): void {
    const { bytes } = this;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      const stop = end > start && bytes[end - 1] === CR ? end - 1 : end;
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
    this.eachLine((start, end) =>
      logRecords.push({
        timeUnixNano: 0,
        observedTimeUnixNano: observed,
        severityNumber: 0,
        severityText: '',
        body: anyValueOf(this.bytes.toString('utf8', start, end)),
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
    attributes.push(keyValue('network.transport', 'tcp'), keyValue('network.peer.address', source.slice(0, colon)), keyValue('network.peer.port', Number(source.slice(colon + 1))));
  }
  return attributes;
}

/** Values typed as the semantic conventions type them: network.peer.port is an int. */
function keyValue(key: string, value: string | number): OtlpKeyValue {
  return { key, value: anyValueOf(value) };
}

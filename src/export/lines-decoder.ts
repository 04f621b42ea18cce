/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line).
 * The export pipeline encodes the result to protobuf once, like any other request, so that
 * enrichment and every exporter treat lines the same way.
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

export const LINES_SCOPE_NAME = 'gophership/lines';

const EMPTY_BYTES = new Uint8Array(0);

export function decodeLinesRecord(record: Pick<RingRecord, 'payload' | 'receivedMs'>): LinesRequest {
  const header = decodeLinesHeader(record.payload);
  // A copy: the record is shared memory that the ring reuses once the batch is committed.
  return new LinesRequest(Buffer.from(record.payload.subarray(header.linesOffset)), record.receivedMs, header.transport, header.source);
}

export class LinesRequest implements OtlpLogsRequest {
  private decoded: OtlpResourceLogs[] | undefined;

  constructor(
    /** The lines, each ending in "\n". */
    private readonly bytes: Buffer,
    private readonly receivedMs: number,
    private readonly transport: LinesTransport,
    private readonly source: string,
  ) {}

  get resourceLogs(): readonly OtlpResourceLogs[] {
    this.decoded ??= this.decode();
    return this.decoded;
  }

  private *lines(): Generator<string> {
    const text = this.bytes.toString('utf8');
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.charCodeAt(end - 1) === 0x0d && end > start ? text.slice(start, end - 1) : text.slice(start, end);
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

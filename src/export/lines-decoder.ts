/**
 * Turns a `lines` record into log records: one per non-empty line, the line as the string
 * body (a trailing "\r" dropped, invalid UTF-8 replaced by U+FFFD), the time ingest received
 * it as the observed time, and resource attributes naming the transport and the peer (the
 * same for every line of a record, so they are written once per record, not per line).
 *
 * The decoded form is built only when something asks for it. The file exporter asks for the
 * OTLP/JSON bytes instead, written straight from the received bytes: most records hold no
 * byte that JSON must escape, and then the whole record is one native replace of "\n" by
 * the text between two records' bodies. That is what lets the lines path keep up with
 * line-oriented peers (docs/benchmarks.md).
 */
import { isAscii, isUtf8 } from 'node:buffer';
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

const EMPTY_BYTES = new Uint8Array(0);
const NEWLINE = 0x0a;

/**
 * Whether every line can be copied into a JSON string as it is: valid UTF-8, no byte that
 * JSON must escape ('"', '\\', controls), no CR (dropped from CRLF endings) and no blank
 * line (skipped). Native searches do most of it; the control bytes are found four at a time.
 */
function copiesVerbatim(bytes: Buffer): boolean {
  if (bytes.length === 0 || bytes[0] === NEWLINE || bytes.indexOf(0x22) !== -1 || bytes.indexOf(0x5c) !== -1) return false;
  if (bytes.indexOf('\n\n') !== -1 || (!isAscii(bytes) && !isUtf8(bytes))) return false;
  return !hasControlByte(bytes);
}

/** Any byte below 0x20 other than a newline. */
function hasControlByte(bytes: Buffer): boolean {
  const lead = Math.min((4 - (bytes.byteOffset & 3)) & 3, bytes.length);
  for (let i = 0; i < lead; i++) if (isControl(bytes[i])) return true;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + lead, (bytes.length - lead) >> 2);
  for (let w = 0; w < words.length; w++) {
    const x = words[w];
    // Non-zero exactly when some byte of x is below 0x20 (a newline, most often): then look closer.
    if (((x - 0x20202020) & ~x & 0x80808080) !== 0) {
      for (let k = 0; k < 32; k += 8) if (isControl((x >>> k) & 0xff)) return true;
    }
  }
  for (let i = lead + words.length * 4; i < bytes.length; i++) if (isControl(bytes[i])) return true;
  return false;
}

function isControl(byte: number): boolean {
  return byte < 0x20 && byte !== NEWLINE;
}

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

  /**
   * The OTLP/JSON of this request (one line, without its newline). Once the decoded form
   * was handed out it may have been changed (enriched), and is then what gets written.
   */
  toJsonBytes(): Buffer {
    if (this.decoded !== undefined || !copiesVerbatim(this.bytes)) return Buffer.from(logsRequestToJson(this));
    // ASCII, the usual case, goes through a one-byte string: the cheapest text V8 has.
    const encoding = isAscii(this.bytes) ? 'latin1' : 'utf8';
    const text = this.bytes.toString(encoding, 0, this.bytes.length - 1);
    const open = `{"observedTimeUnixNano":"${this.observedNanos()}","body":{"stringValue":"`;
    const head = `{"resourceLogs":[{"resource":${this.resourceJson()},"scopeLogs":[{"scope":{"name":"${LINES_SCOPE_NAME}"},"logRecords":[`;
    return Buffer.from(`${head}${open}${text.replaceAll('\n', `"}},${open}`)}"}}]}]}]}`, encoding);
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

  private resourceJson(): string {
    const attributes = this.attributes()
      .map((a) => `{"key":${JSON.stringify(a.key)},"value":{"stringValue":${JSON.stringify(a.value!.stringValue)}}}`)
      .join(',');
    return `{"attributes":[${attributes}]}`;
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

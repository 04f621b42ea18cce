/**
 * A minimal protobuf wire-format reader and writer, enough to walk the outer layers of a
 * serialized ExportLogsServiceRequest without decoding it. The Green forwarding path edits
 * and cuts requests at field boundaries with these (otlp-wire-resource.ts,
 * otlp-wire-split.ts) and never builds a message object.
 *
 * Wire format facts (protobuf encoding spec): a field is a varint tag `(number << 3) | type`;
 * type 0 varint, 1 fixed 8 bytes, 2 varint length then bytes, 3/4 group start/end, 5 fixed
 * 4 bytes. Lengths are at most 2^32 here (a message is bounded by max_message_bytes).
 */
import { PoisonRecordError } from './errors';

export const WireType = { Varint: 0, Fixed64: 1, Len: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;

/** Field numbers of the messages the forwarding path walks (opentelemetry-proto, logs v1). */
export const Field = {
  /** ExportLogsServiceRequest.resource_logs, LogsData.resource_logs */
  ResourceLogs: 1,
  /** ResourceLogs.resource */
  Resource: 1,
  /** ResourceLogs.scope_logs */
  ScopeLogs: 2,
  /** Resource.attributes */
  ResourceAttributes: 1,
  /** ScopeLogs.log_records */
  LogRecords: 2,
  /** KeyValue.key */
  Key: 1,
  /** ScopeLogs.scope */
  Scope: 1,
  /** InstrumentationScope.name */
  ScopeName: 1,
  /** LogRecord.body */
  Body: 5,
  /** LogRecord.observed_time_unix_nano (fixed64) */
  ObservedTime: 11,
  /** AnyValue.string_value */
  StringValue: 1,
} as const;

const MAX_GROUP_DEPTH = 64;

/**
 * A cursor over one message's bytes. After next() returns true, `field`, `type` and (for
 * length-delimited fields) `start`/`end` describe the field, and `fieldStart` is where its
 * tag began; `pos` is already past the field.
 */
export class WireCursor {
  pos: number;
  field = 0;
  type = 0;
  fieldStart = 0;
  start = 0;
  end = 0;

  constructor(
    readonly buf: Uint8Array,
    private readonly from: number,
    readonly limit: number,
  ) {
    this.pos = from;
  }

  reset(): void {
    this.pos = this.from;
  }

  next(): boolean {
    if (this.pos >= this.limit) return false;
    this.fieldStart = this.pos;
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.type = tag & 7;
    if (this.field === 0) throw malformed(`field number 0 at offset ${this.fieldStart}`);
    this.skipValue(this.type, this.field, 0);
    return true;
  }

  private skipValue(type: number, field: number, depth: number): void {
    switch (type) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.Len: {
        const length = this.varint();
        this.start = this.pos;
        this.advance(length);
        this.end = this.pos;
        return;
      }
      case WireType.Fixed32:
        this.advance(4);
        return;
      case WireType.StartGroup:
        this.skipGroup(field, depth + 1);
        return;
      default:
        throw malformed(`wire type ${type} at offset ${this.fieldStart}`);
    }
  }

  private skipGroup(field: number, depth: number): void {
    if (depth > MAX_GROUP_DEPTH) throw malformed('groups nested too deeply');
    for (;;) {
      if (this.pos >= this.limit) throw malformed(`unterminated group ${field}`);
      const tag = this.varint();
      const inner = Math.floor(tag / 8);
      const type = tag & 7;
      if (type === WireType.EndGroup) {
        if (inner !== field) throw malformed(`group ${field} ended by ${inner}`);
        return;
      }
      if (inner === 0) throw malformed('field number 0 in a group');
      this.skipValue(type, inner, depth);
    }
  }

  private advance(n: number): void {
    if (n > this.limit - this.pos) throw malformed(`field at offset ${this.fieldStart} runs past its message`);
    this.pos += n;
  }

  private varint(): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) throw malformed(`truncated varint at offset ${this.pos}`);
      const byte = buf[this.pos++];
      // Only lengths and tags are used as numbers; past 2^53 precision is lost, which only
      // ever makes a length fail the bounds check, as it should.
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw malformed(`varint longer than 10 bytes at offset ${this.pos}`);
  }
}

function malformed(what: string): PoisonRecordError {
  return new PoisonRecordError(`malformed ExportLogsServiceRequest: ${what}`);
}

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 128) {
    out[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

/** Bytes of a length-delimited field: tag, length prefix, body. */
export function lenFieldSize(field: number, bodyBytes: number): number {
  return varintSize(field * 8 + WireType.Len) + varintSize(bodyBytes) + bodyBytes;
}

/** Writes the tag and length prefix of a length-delimited field; the body follows at the returned position. */
export function writeLenHeader(out: Uint8Array, pos: number, field: number, bodyBytes: number): number {
  return writeVarint(out, writeVarint(out, pos, field * 8 + WireType.Len), bodyBytes);
}

/** A whole length-delimited field (tag, length, body) as its own buffer. */
export function encodeLenField(field: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(lenFieldSize(field, body.byteLength));
  out.set(body, writeLenHeader(out, 0, field, body.byteLength));
  return out;
}

/**
 * The cheap structural checks an OTLP/HTTP body gets on ingest, fed the body's (inflated)
 * bytes as they arrive and never keeping any of them. They are not a decode: ingest still
 * stores the body as received, and the exporter decodes it. What they catch is the body that
 * is not the announced format at all (garbage, a truncated upload, the wrong content type),
 * which the client must hear about as a 400 while it can still fix it, instead of an OK
 * followed by a dead-letter entry. A protobuf body is checked at its top level only; a JSON
 * body is scanned whole (a bad JSON body is far more common, hand-written or from a broken
 * serializer, and JSON's cost in the exporter is bounded only by scanning it). A body that
 * passes and still fails to decode is dead-lettered by the exporter, counted and kept.
 */

import { OtlpJsonScanner } from '../common/otlp-json-scan';

export interface BodyCheck {
  /** A reason when the bytes so far cannot begin a valid body. */
  push(bytes: Uint8Array): string | undefined;
  /** A reason when the whole body is not valid. */
  finish(): string | undefined;
  /** Log records seen, where the check walks that deep (JSON, which it scans whole). */
  readonly logRecords?: number;
}

const enum ProtoState {
  Tag,
  Length,
  Varint,
  Skip,
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;
/** ExportLogsServiceRequest.resource_logs; every other field is unknown and skipped, as proto3 does. */
const RESOURCE_LOGS_FIELD = 1;
/** A varint never needs more than 10 bytes; one past that is garbage. */
const MAX_VARINT_SHIFT = 63;

/**
 * Walks the top-level fields of a serialized ExportLogsServiceRequest: every tag must be a
 * valid field number and wire type, every length must stay inside the body, and the body
 * must end on a field boundary. Each top-level field (a whole ResourceLogs) is skipped in
 * one step, so the cost is a few operations per ResourceLogs, not per byte.
 */
export class ProtoTopLevelCheck implements BodyCheck {
  private state = ProtoState.Tag;
  private value = 0;
  private shift = 0;
  private wireType = 0;
  private toSkip = 0;
  private offset = 0;

  push(bytes: Uint8Array): string | undefined {
    let i = 0;
    while (i < bytes.length) {
      if (this.state === ProtoState.Skip) {
        const n = Math.min(this.toSkip, bytes.length - i);
        this.toSkip -= n;
        i += n;
        if (this.toSkip === 0) this.state = ProtoState.Tag;
        continue;
      }
      const byte = bytes[i++];
      if (this.shift > MAX_VARINT_SHIFT) return this.problem('a varint longer than 10 bytes', i);
      this.value += (byte & 0x7f) * 2 ** this.shift;
      this.shift += 7;
      if (byte & 0x80) continue;
      const value = this.value;
      this.value = 0;
      this.shift = 0;
      const problem = this.completed(value, i);
      if (problem !== undefined) return problem;
    }
    this.offset += bytes.length;
    return undefined;
  }

  finish(): string | undefined {
    if (this.state === ProtoState.Tag && this.shift === 0) return undefined;
    return `the protobuf body is truncated (it ends inside a field at byte ${this.offset})`;
  }

  private completed(value: number, at: number): string | undefined {
    switch (this.state) {
      case ProtoState.Tag: {
        const field = Math.floor(value / 8);
        this.wireType = value % 8;
        if (field === 0) return this.problem('field number 0', at);
        if (field === RESOURCE_LOGS_FIELD && this.wireType !== WIRE_LENGTH) return this.problem(`resource_logs with wire type ${this.wireType}`, at);
        if (this.wireType === WIRE_VARINT) this.state = ProtoState.Varint;
        else if (this.wireType === WIRE_LENGTH) this.state = ProtoState.Length;
        else if (this.wireType === WIRE_FIXED64) this.skip(8);
        else if (this.wireType === WIRE_FIXED32) this.skip(4);
        else return this.problem(`wire type ${this.wireType}`, at);
        return undefined;
      }
      case ProtoState.Length:
        this.skip(value);
        return undefined;
      default:
        this.state = ProtoState.Tag;
        return undefined;
    }
  }

  private skip(bytes: number): void {
    this.toSkip = bytes;
    this.state = bytes === 0 ? ProtoState.Tag : ProtoState.Skip;
  }

  private problem(what: string, at: number): string {
    return `the body is not a protobuf ExportLogsServiceRequest: ${what} at byte ${this.offset + at - 1}`;
  }
}

/**
 * An OTLP/JSON body must be one JSON object with the shape of an ExportLogsServiceRequest, and
 * weigh no more, once decoded, than the exporter's heap allows (otlp-json-scan.ts): checked
 * byte by byte as it arrives, so that a bad body hears 400 before it is acknowledged.
 */
export function jsonRequestCheck(maxUnits: number): BodyCheck {
  return new OtlpJsonScanner({ maxUnits, shape: true });
}

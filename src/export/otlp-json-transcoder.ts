/**
 * OTLP/JSON written straight from a serialized ExportLogsServiceRequest: the wire format is
 * walked and each field's JSON written into a JsonBytes as it is met, with no message object
 * and no string per field. Memory is what the output needs (a few bytes of JSON per byte of
 * input), never something per record: an empty LogRecord is two bytes on the wire and
 * becomes three bytes of JSON, where a decoded object cost some forty bytes of heap.
 *
 * The JSON is what the OTLP specification defines (proto3 JSON with lowerCamelCase names,
 * trace and span ids as lowercase hex, enums as integers, 64-bit integers as decimal
 * strings, bytes as base64, fields at their default value left out, a set oneof member kept
 * even at its default), byte for byte what decoding with protobufjs and walking the message
 * gave before (test/helpers/otlp-json-reference.ts; test/otlp-json-transcoder.test.ts holds
 * the two together on random requests). So the decoding rules are protobufjs's, which are
 * protobuf's: the last occurrence of a scalar field wins, occurrences of a singular message
 * field merge, a field with the wrong wire type is unknown, unknown fields are skipped.
 *
 * Fields are written in the order the .proto declares them, not the order they arrive: each
 * message is walked once to find its fields (and check every one of them is well-formed),
 * then its JSON is written from what the walk found, walking again only for repeated fields.
 *
 * Poison (PoisonRecordError, and nothing of the request left in the output): bytes that are
 * not protobuf, a trace_id or span_id of the wrong length, and messages nested deeper than
 * MAX_DEPTH. Invalid UTF-8 in a string is not poison: it is replaced by U+FFFD, as a lines
 * record's is, rather than costing the whole request.
 */
import { PoisonRecordError } from '../common/errors';
import type { JsonBytes } from './json-bytes';
import { WireType } from '../common/otlp-wire';

/**
 * Messages nested deeper than this (the request is depth 0; an AnyValue in a log record's
 * body is 4, each level of array or kvlist adds 2 or 3) make the request poison. It is
 * protobufjs's recursion limit (and protoc's default), so the limit is where it always was;
 * it bounds the recursion of the walk, and so its stack, whatever the input.
 */
export const MAX_DEPTH = 100;

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

// The wire types, as locals: the walk compares them on every field.
const { Varint: VARINT, Fixed64: FIXED64, Len: LEN, StartGroup: START_GROUP, EndGroup: END_GROUP, Fixed32: FIXED32 } = WireType;

const CLOSE = 0x7d;
const COMMA = 0x2c;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const QUOTE = 0x22;

/** The singular message fields that may occur more than once and then merge. */
const enum Kind {
  Resource,
  Scope,
  AnyValue,
  ArrayValue,
  KvList,
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
/** `"name":`, and the same after a comma. */
function names(name: string): [Buffer, Buffer] {
  return [ascii(`{"${name}":`), ascii(`,"${name}":`)];
}

const RESOURCE_LOGS = ascii('{"resourceLogs":[');
const LIST_END = ascii(']}');
const EMPTY = ascii('{}');
const [RESOURCE] = names('resource');
const [SCOPE] = names('scope');
const [SCOPE_LOGS, SCOPE_LOGS_] = names('scopeLogs');
const [SCHEMA_URL, SCHEMA_URL_] = names('schemaUrl');
const [ATTRIBUTES, ATTRIBUTES_] = names('attributes');
const [DROPPED, DROPPED_] = names('droppedAttributesCount');
const [ENTITY_REFS, ENTITY_REFS_] = names('entityRefs');
const [TYPE, TYPE_] = names('type');
const [ID_KEYS, ID_KEYS_] = names('idKeys');
const [DESCRIPTION_KEYS, DESCRIPTION_KEYS_] = names('descriptionKeys');
const [LOG_RECORDS, LOG_RECORDS_] = names('logRecords');
const [NAME] = names('name');
const [VERSION, VERSION_] = names('version');
const [TIME] = names('timeUnixNano');
const [OBSERVED, OBSERVED_] = names('observedTimeUnixNano');
const [SEVERITY_NUMBER, SEVERITY_NUMBER_] = names('severityNumber');
const [SEVERITY_TEXT, SEVERITY_TEXT_] = names('severityText');
const [BODY, BODY_] = names('body');
const [FLAGS, FLAGS_] = names('flags');
const [TRACE_ID, TRACE_ID_] = names('traceId');
const [SPAN_ID, SPAN_ID_] = names('spanId');
const [EVENT_NAME, EVENT_NAME_] = names('eventName');
const [KEY] = names('key');
const [VALUE, VALUE_] = names('value');
const [VALUES] = names('values');
const [STRING_VALUE] = names('stringValue');
const BOOL_TRUE = ascii('{"boolValue":true}');
const BOOL_FALSE = ascii('{"boolValue":false}');
const [INT_VALUE] = names('intValue');
const [DOUBLE_VALUE] = names('doubleValue');
const [ARRAY_VALUE] = names('arrayValue');
const [KVLIST_VALUE] = names('kvlistValue');
const [BYTES_VALUE] = names('bytesValue');

export class OtlpJsonTranscoder {
  /** The message being walked: the request, or a merge of a field's occurrences. */
  private src: Buffer = Buffer.alloc(0);
  private out!: JsonBytes;
  /** Where the walk is in `src`. */
  private pos = 0;
  /** The field next() read: number, wire type, and for LEN its value's bounds. */
  private field = 0;
  private type = 0;
  /** Where the field's tag is. */
  private fieldStart = 0;
  private start = 0;
  private end = 0;
  private logRecords = 0;

  /**
   * Appends the request's OTLP/JSON (one line, no newline) to `out`; returns its number of
   * LogRecords. Throws PoisonRecordError with `out` as it was before the call.
   */
  write(request: Uint8Array, out: JsonBytes): number {
    const mark = out.mark();
    this.src = Buffer.isBuffer(request) ? request : Buffer.from(request.buffer, request.byteOffset, request.byteLength);
    this.out = out;
    this.logRecords = 0;
    try {
      this.request(0, this.src.length);
    } catch (err) {
      out.rollback(mark);
      if (err instanceof PoisonRecordError) throw err;
      // A RangeError from a Buffer read past the end cannot happen (every bound is checked first), but would be poison too.
      throw new PoisonRecordError(`malformed ExportLogsServiceRequest (${request.byteLength} bytes): ${(err as Error).message}`, err);
    } finally {
      this.src = EMPTY_SOURCE;
    }
    return this.logRecords;
  }

  /** A serialized Resource (one built in code, never poison) as its OTLP/JSON. */
  writeResource(resource: Uint8Array, out: JsonBytes): void {
    this.src = Buffer.isBuffer(resource) ? resource : Buffer.from(resource.buffer, resource.byteOffset, resource.byteLength);
    this.out = out;
    try {
      this.resource(0, this.src.length, 2);
    } finally {
      this.src = EMPTY_SOURCE;
    }
  }

  private request(start: number, end: number): void {
    const out = this.out;
    let n = 0;
    this.pos = start;
    while (this.next(end, 0)) {
      if (this.field !== 1 || this.type !== LEN) continue;
      const at = this.pos;
      out.name(n++ === 0 ? RESOURCE_LOGS : COMMA_BYTE);
      this.logsLevel(this.start, this.end, 1, RESOURCE_LOGS_LEVEL);
      this.pos = at;
    }
    out.name(n === 0 ? EMPTY : LIST_END);
  }

  /**
   * ResourceLogs and ScopeLogs share one shape: a singular message (field 1: resource, or
   * scope), a repeated message (field 2: scope logs, or log records) and schema_url (3).
   */
  private logsLevel(start: number, end: number, depth: number, level: Level): void {
    checkDepth(depth);
    let singulars = 0;
    let singularStart = 0;
    let singularEnd = 0;
    let singularFrom = 0;
    let items = 0;
    let itemsFrom = 0;
    let schemaStart = 0;
    let schemaEnd = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.type !== LEN) continue;
      if (this.field === 1) {
        if (singulars++ === 0) singularFrom = this.fieldStart;
        singularStart = this.start;
        singularEnd = this.end;
      } else if (this.field === 2) {
        if (items++ === 0) itemsFrom = this.fieldStart;
      } else if (this.field === 3) {
        schemaStart = this.start;
        schemaEnd = this.end;
      }
    }
    const out = this.out;
    let first = true;
    if (singulars !== 0) {
      out.name(level.singularName);
      this.singular(level.singular, singulars, singularStart, singularEnd, 1, singularFrom, end, depth + 1);
      first = false;
    }
    if (items !== 0) {
      out.name(first ? level.itemsName[0] : level.itemsName[1]);
      this.repeated(2, itemsFrom, end, depth, level.items);
      first = false;
    }
    if (schemaEnd > schemaStart) {
      out.name(first ? SCHEMA_URL : SCHEMA_URL_);
      out.utf8StringOf(this.src, schemaStart, schemaEnd);
      first = false;
    }
    out.name(first ? EMPTY : CLOSE_BYTE);
  }

  private resource(start: number, end: number, depth: number): void {
    checkDepth(depth);
    let attributes = 0;
    let attributesFrom = 0;
    let dropped = -1;
    let entityRefs = 0;
    let entityRefsFrom = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.field === 1 && this.type === LEN) {
        if (attributes++ === 0) attributesFrom = this.fieldStart;
      } else if (this.field === 2 && this.type === VARINT) {
        dropped = this.start;
      } else if (this.field === 3 && this.type === LEN) {
        if (entityRefs++ === 0) entityRefsFrom = this.fieldStart;
      }
    }
    const out = this.out;
    let first = true;
    if (attributes !== 0) {
      out.name(ATTRIBUTES);
      this.repeated(1, attributesFrom, end, depth, KeyValueWriter);
      first = false;
    }
    if (dropped >= 0) first = this.uint32Field(dropped, first, DROPPED, DROPPED_);
    if (entityRefs !== 0) {
      out.name(first ? ENTITY_REFS : ENTITY_REFS_);
      this.repeated(3, entityRefsFrom, end, depth, EntityRefWriter);
      first = false;
    }
    out.name(first ? EMPTY : CLOSE_BYTE);
  }

  private entityRef(start: number, end: number, depth: number): void {
    checkDepth(depth);
    let schemaStart = 0;
    let schemaEnd = 0;
    let typeStart = 0;
    let typeEnd = 0;
    let idKeys = 0;
    let idKeysFrom = 0;
    let descriptionKeys = 0;
    let descriptionKeysFrom = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.type !== LEN) continue;
      if (this.field === 1) {
        schemaStart = this.start;
        schemaEnd = this.end;
      } else if (this.field === 2) {
        typeStart = this.start;
        typeEnd = this.end;
      } else if (this.field === 3) {
        if (idKeys++ === 0) idKeysFrom = this.fieldStart;
      } else if (this.field === 4) {
        if (descriptionKeys++ === 0) descriptionKeysFrom = this.fieldStart;
      }
    }
    const out = this.out;
    let first = true;
    if (schemaEnd > schemaStart) {
      out.name(SCHEMA_URL);
      out.utf8StringOf(this.src, schemaStart, schemaEnd);
      first = false;
    }
    if (typeEnd > typeStart) {
      out.name(first ? TYPE : TYPE_);
      out.utf8StringOf(this.src, typeStart, typeEnd);
      first = false;
    }
    if (idKeys !== 0) {
      out.name(first ? ID_KEYS : ID_KEYS_);
      this.strings(3, idKeysFrom, end, depth);
      first = false;
    }
    if (descriptionKeys !== 0) {
      out.name(first ? DESCRIPTION_KEYS : DESCRIPTION_KEYS_);
      this.strings(4, descriptionKeysFrom, end, depth);
      first = false;
    }
    out.name(first ? EMPTY : CLOSE_BYTE);
  }


  private scope(start: number, end: number, depth: number): void {
    checkDepth(depth);
    let nameStart = 0;
    let nameEnd = 0;
    let versionStart = 0;
    let versionEnd = 0;
    let attributes = 0;
    let attributesFrom = 0;
    let dropped = -1;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.field === 1 && this.type === LEN) {
        nameStart = this.start;
        nameEnd = this.end;
      } else if (this.field === 2 && this.type === LEN) {
        versionStart = this.start;
        versionEnd = this.end;
      } else if (this.field === 3 && this.type === LEN) {
        if (attributes++ === 0) attributesFrom = this.fieldStart;
      } else if (this.field === 4 && this.type === VARINT) {
        dropped = this.start;
      }
    }
    const out = this.out;
    let first = true;
    if (nameEnd > nameStart) {
      out.name(NAME);
      out.utf8StringOf(this.src, nameStart, nameEnd);
      first = false;
    }
    if (versionEnd > versionStart) {
      out.name(first ? VERSION : VERSION_);
      out.utf8StringOf(this.src, versionStart, versionEnd);
      first = false;
    }
    if (attributes !== 0) {
      out.name(first ? ATTRIBUTES : ATTRIBUTES_);
      this.repeated(3, attributesFrom, end, depth, KeyValueWriter);
      first = false;
    }
    if (dropped >= 0) first = this.uint32Field(dropped, first, DROPPED, DROPPED_);
    out.name(first ? EMPTY : CLOSE_BYTE);
  }

  private logRecord(start: number, end: number, depth: number): void {
    checkDepth(depth);
    this.logRecords++;
    // Each -1 until the field is met; then where its last occurrence's value starts.
    let time = -1;
    let observed = -1;
    let severity = -1;
    let dropped = -1;
    let flags = -1;
    let textStart = 0;
    let textEnd = 0;
    let bodies = 0;
    let bodyStart = 0;
    let bodyEnd = 0;
    let bodyFrom = 0;
    let attributes = 0;
    let attributesFrom = 0;
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    let eventStart = 0;
    let eventEnd = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      const type = this.type;
      switch (this.field) {
        case 1:
          if (type === FIXED64) time = this.start;
          break;
        case 11:
          if (type === FIXED64) observed = this.start;
          break;
        case 2:
          if (type === VARINT) severity = this.start;
          break;
        case 3:
          if (type === LEN) {
            textStart = this.start;
            textEnd = this.end;
          }
          break;
        case 5:
          if (type === LEN) {
            if (bodies++ === 0) bodyFrom = this.fieldStart;
            bodyStart = this.start;
            bodyEnd = this.end;
          }
          break;
        case 6:
          if (type === LEN && attributes++ === 0) attributesFrom = this.fieldStart;
          break;
        case 7:
          if (type === VARINT) dropped = this.start;
          break;
        case 8:
          if (type === FIXED32) flags = this.start;
          break;
        case 9:
          if (type === LEN) {
            traceStart = this.start;
            traceEnd = this.end;
          }
          break;
        case 10:
          if (type === LEN) {
            spanStart = this.start;
            spanEnd = this.end;
          }
          break;
        case 12:
          if (type === LEN) {
            eventStart = this.start;
            eventEnd = this.end;
          }
          break;
      }
    }
    const traceBytes = traceEnd - traceStart;
    const spanBytes = spanEnd - spanStart;
    // The OTel collector refuses a request whose ids have the wrong length, so a line carrying
    // one would poison whatever reads the output; better to refuse it here, once.
    if ((traceBytes !== 0 && traceBytes !== TRACE_ID_BYTES) || (spanBytes !== 0 && spanBytes !== SPAN_ID_BYTES)) {
      throw new PoisonRecordError(
        `log record has a ${traceBytes}-byte trace_id and a ${spanBytes}-byte span_id; ids must be empty or ${TRACE_ID_BYTES} and ${SPAN_ID_BYTES} bytes`,
      );
    }
    const out = this.out;
    const src = this.src;
    let first = true;
    if (time >= 0 && !isZero64(src, time)) {
      out.name(TIME);
      this.fixed64(time);
      first = false;
    }
    if (observed >= 0 && !isZero64(src, observed)) {
      out.name(first ? OBSERVED : OBSERVED_);
      this.fixed64(observed);
      first = false;
    }
    if (severity >= 0) {
      this.pos = severity;
      const value = this.varint32() | 0;
      if (value !== 0) {
        out.name(first ? SEVERITY_NUMBER : SEVERITY_NUMBER_);
        if (value < 0) out.byte(0x2d);
        out.uint(Math.abs(value));
        first = false;
      }
    }
    if (textEnd > textStart) {
      out.name(first ? SEVERITY_TEXT : SEVERITY_TEXT_);
      out.utf8StringOf(src, textStart, textEnd);
      first = false;
    }
    if (bodies !== 0) {
      out.name(first ? BODY : BODY_);
      this.singular(Kind.AnyValue, bodies, bodyStart, bodyEnd, 5, bodyFrom, end, depth + 1);
      first = false;
    }
    if (attributes !== 0) {
      out.name(first ? ATTRIBUTES : ATTRIBUTES_);
      this.repeated(6, attributesFrom, end, depth, KeyValueWriter);
      first = false;
    }
    if (dropped >= 0) first = this.uint32Field(dropped, first, DROPPED, DROPPED_);
    if (flags >= 0) {
      const value = src.readUInt32LE(flags);
      if (value !== 0) {
        out.name(first ? FLAGS : FLAGS_);
        out.uint(value);
        first = false;
      }
    }
    if (traceBytes !== 0) {
      out.name(first ? TRACE_ID : TRACE_ID_);
      out.hexOf(src, traceStart, traceEnd);
      first = false;
    }
    if (spanBytes !== 0) {
      out.name(first ? SPAN_ID : SPAN_ID_);
      out.hexOf(src, spanStart, spanEnd);
      first = false;
    }
    if (eventEnd > eventStart) {
      out.name(first ? EVENT_NAME : EVENT_NAME_);
      out.utf8StringOf(src, eventStart, eventEnd);
      first = false;
    }
    out.name(first ? EMPTY : CLOSE_BYTE);
  }

  private keyValue(start: number, end: number, depth: number): void {
    checkDepth(depth);
    let keyStart = 0;
    let keyEnd = 0;
    let values = 0;
    let valueStart = 0;
    let valueEnd = 0;
    let valueFrom = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.type !== LEN) continue;
      if (this.field === 1) {
        keyStart = this.start;
        keyEnd = this.end;
      } else if (this.field === 2) {
        if (values++ === 0) valueFrom = this.fieldStart;
        valueStart = this.start;
        valueEnd = this.end;
      }
    }
    const out = this.out;
    let first = true;
    if (keyEnd > keyStart) {
      out.name(KEY);
      out.utf8StringOf(this.src, keyStart, keyEnd);
      first = false;
    }
    if (values !== 0) {
      out.name(first ? VALUE : VALUE_);
      this.singular(Kind.AnyValue, values, valueStart, valueEnd, 2, valueFrom, end, depth + 1);
      first = false;
    }
    out.name(first ? EMPTY : CLOSE_BYTE);
  }

  /**
   * A oneof: the member set last wins, and setting another member clears it; occurrences of
   * a message member since the last switch merge.
   */
  private anyValue(start: number, end: number, depth: number): void {
    checkDepth(depth);
    let member = 0;
    let valueStart = 0;
    let valueEnd = 0;
    let occurrences = 0;
    let from = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      const field = this.field;
      if (field < 1 || field > 7 || this.type !== memberType(field)) continue;
      if (field !== member) {
        if (member === 5 || member === 6) {
          // Cleared by another member, but protobufjs decoded it first: it must be well-formed all the same.
          const { pos, fieldStart, start: fieldValueStart, end: fieldValueEnd } = this;
          this.check(member === 5 ? Kind.ArrayValue : Kind.KvList, member, from, fieldStart, depth + 1);
          this.pos = pos;
          this.fieldStart = fieldStart;
          this.start = fieldValueStart;
          this.end = fieldValueEnd;
        }
        member = field;
        occurrences = 0;
        from = this.fieldStart;
      }
      occurrences++;
      valueStart = this.start;
      valueEnd = this.end;
    }
    const out = this.out;
    const src = this.src;
    switch (member) {
      case 0:
        out.name(EMPTY);
        return;
      case 1:
        out.name(STRING_VALUE);
        out.utf8StringOf(src, valueStart, valueEnd);
        break;
      case 2:
        this.pos = valueStart;
        out.name(this.boolValue() ? BOOL_TRUE : BOOL_FALSE);
        return;
      case 3:
        out.name(INT_VALUE);
        this.pos = valueStart;
        this.varint64();
        out.byte(QUOTE);
        out.int64(this.high, this.low);
        out.byte(QUOTE);
        break;
      case 4:
        out.name(DOUBLE_VALUE);
        out.ascii(double(src.readDoubleLE(valueStart)));
        break;
      case 5:
        out.name(ARRAY_VALUE);
        this.singular(Kind.ArrayValue, occurrences, valueStart, valueEnd, 5, from, end, depth + 1);
        break;
      case 6:
        out.name(KVLIST_VALUE);
        this.singular(Kind.KvList, occurrences, valueStart, valueEnd, 6, from, end, depth + 1);
        break;
      case 7:
        out.name(BYTES_VALUE);
        out.base64Of(src, valueStart, valueEnd);
        break;
    }
    out.byte(CLOSE);
  }

  /** ArrayValue and KeyValueList share one shape: a single repeated `values` field. */
  private values(start: number, end: number, depth: number, writer: Writer): void {
    checkDepth(depth);
    let values = 0;
    let from = 0;
    this.pos = start;
    while (this.next(end, depth)) {
      if (this.field === 1 && this.type === LEN && values++ === 0) from = this.fieldStart;
    }
    if (values === 0) {
      this.out.name(EMPTY);
      return;
    }
    this.out.name(VALUES);
    this.repeated(1, from, end, depth, writer);
    this.out.byte(CLOSE);
  }

  /** The JSON list of every occurrence of LEN field `field` from `from` (the first one's tag) to `end`. */
  private repeated(field: number, from: number, end: number, depth: number, writer: Writer): void {
    const out = this.out;
    out.byte(OPEN_LIST);
    let first = true;
    this.pos = from;
    while (this.next(end, depth)) {
      if (this.field !== field || this.type !== LEN) continue;
      const resume = this.pos;
      if (!first) out.byte(COMMA);
      first = false;
      this.writeMessage(writer, this.start, this.end, depth + 1);
      this.pos = resume;
    }
    out.byte(CLOSE_LIST);
  }

  /** A JSON list of the repeated string field `field`, as JSON.stringify writes an array of strings. */
  private strings(field: number, from: number, end: number, depth: number): void {
    const out = this.out;
    out.byte(OPEN_LIST);
    let first = true;
    this.pos = from;
    while (this.next(end, depth)) {
      if (this.field !== field || this.type !== LEN) continue;
      if (!first) out.byte(COMMA);
      first = false;
      out.utf8StringOf(this.src, this.start, this.end);
    }
    out.byte(CLOSE_LIST);
  }

  private writeMessage(writer: Writer, start: number, end: number, depth: number): void {
    switch (writer) {
      case ScopeLogsWriter:
        return this.logsLevel(start, end, depth, SCOPE_LOGS_LEVEL);
      case LogRecordWriter:
        return this.logRecord(start, end, depth);
      case KeyValueWriter:
        return this.keyValue(start, end, depth);
      case EntityRefWriter:
        return this.entityRef(start, end, depth);
      case AnyValueWriter:
        return this.anyValue(start, end, depth);
    }
  }

  /**
   * A singular message field: its only occurrence, or, when it occurred more than once, the
   * merge of them all (which is what parsing their bodies one after the other gives), copied
   * into a buffer of its own first. Rare: no encoder we know of splits a message.
   */
  private singular(kind: Kind, occurrences: number, start: number, end: number, field: number, from: number, limit: number, depth: number): void {
    if (occurrences === 1) {
      this.writeSingular(kind, start, end, depth);
      return;
    }
    // Each occurrence on its own must be well-formed, as protobufjs decodes them one by one.
    this.check(kind, field, from, limit, depth);
    const parts: Buffer[] = [];
    const src = this.src;
    this.pos = from;
    while (this.next(limit, depth)) if (this.field === field && this.type === LEN) parts.push(src.subarray(this.start, this.end));
    const merged = Buffer.concat(parts);
    this.src = merged;
    try {
      this.writeSingular(kind, 0, merged.length, depth);
    } finally {
      this.src = src;
    }
  }

  /** Walks each occurrence of `field` in [from, end) as a `kind`, writing nothing: throws if one is malformed. */
  private check(kind: Kind, field: number, from: number, end: number, depth: number): void {
    const out = this.out;
    const mark = out.mark();
    this.pos = from;
    while (this.next(end, depth - 1)) {
      if (this.field !== field || this.type !== LEN) continue;
      const resume = this.pos;
      this.writeSingular(kind, this.start, this.end, depth);
      out.rollback(mark);
      this.pos = resume;
    }
  }

  private writeSingular(kind: Kind, start: number, end: number, depth: number): void {
    switch (kind) {
      case Kind.Resource:
        return this.resource(start, end, depth);
      case Kind.Scope:
        return this.scope(start, end, depth);
      case Kind.AnyValue:
        return this.anyValue(start, end, depth);
      case Kind.ArrayValue:
        return this.values(start, end, depth, AnyValueWriter);
      case Kind.KvList:
        return this.values(start, end, depth, KeyValueWriter);
    }
  }

  private uint32Field(at: number, first: boolean, name: Buffer, nameAfterComma: Buffer): boolean {
    this.pos = at;
    const value = this.varint32() >>> 0;
    if (value === 0) return first;
    this.out.name(first ? name : nameAfterComma);
    this.out.uint(value);
    return false;
  }

  private fixed64(at: number): void {
    const out = this.out;
    out.byte(QUOTE);
    out.uint64(this.src.readUInt32LE(at + 4), this.src.readUInt32LE(at));
    out.byte(QUOTE);
  }

  /**
   * Reads one field at `pos` (not past `end`) into field/type/start/end and moves past it;
   * false at the end. Every wire type is checked and skipped here, so a message that has
   * been walked once is well-formed at its own level. `start` is where the value begins
   * (its bytes, for LEN), `fieldStart` where the tag does.
   */
  private next(end: number, depth: number): boolean {
    const pos = this.pos;
    if (pos >= end) return false;
    this.fieldStart = pos;
    const src = this.src;
    // Tags and lengths below 128 (one byte) are nearly all of them: read those inline.
    let tag = src[pos];
    if (tag < 0x80) this.pos = pos + 1;
    else tag = this.varint32Within(end);
    const field = tag >>> 3;
    const type = tag & 7;
    if (field === 0) throw malformed(`field number 0 at offset ${pos}`);
    this.field = field;
    this.type = type;
    if (type === LEN) {
      const at = this.pos;
      let length = at < end ? src[at] : 0x80;
      if (length < 0x80) this.pos = at + 1;
      else length = this.varint32Within(end);
      this.start = this.pos;
      this.advance(length, end);
      this.end = this.pos;
      return true;
    }
    this.start = this.pos;
    this.skip(type, field, depth, end);
    return true;
  }

  /** Moves past a value of wire type `type`, as protobufjs's skipType does (groups nested at most MAX_DEPTH deep). */
  private skip(type: number, field: number, depth: number, end: number): void {
    switch (type) {
      case VARINT: {
        const src = this.src;
        let at = this.pos;
        do {
          if (at >= end) throw malformed(`truncated varint at offset ${at}`);
        } while (src[at++] & 0x80);
        this.pos = at;
        return;
      }
      case FIXED64:
        return this.advance(8, end);
      case LEN: {
        const length = this.varint32Within(end);
        this.start = this.pos;
        return this.advance(length, end);
      }
      case FIXED32:
        return this.advance(4, end);
      case START_GROUP:
        for (;;) {
          if (this.pos >= end) throw malformed(`unterminated group ${field}`);
          const tag = this.varint32Within(end);
          const inner = tag >>> 3;
          const innerType = tag & 7;
          if (inner === 0) throw malformed('field number 0 in a group');
          if (innerType === END_GROUP) {
            if (inner !== field) throw malformed(`group ${field} ended by ${inner}`);
            return;
          }
          if (depth + 1 > MAX_DEPTH) throw malformed('groups nested too deeply');
          this.skip(innerType, inner, depth + 1, end);
        }
      default:
        throw malformed(`wire type ${type} at offset ${this.pos}`);
    }
  }

  private advance(n: number, end: number): void {
    if (n > end - this.pos) throw malformed(`field at offset ${this.pos} runs past its message`);
    this.pos += n;
  }

  /** A varint's low 32 bits (as protobufjs's uint32 keeps them), at most 10 bytes, not past `end`. */
  private varint32Within(end: number): number {
    const src = this.src;
    let value = 0;
    for (let i = 0, at = this.pos; i < 10; i++, at++) {
      if (at >= end) throw malformed(`truncated varint at offset ${at}`);
      const byte = src[at];
      if (i < 5) value |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        this.pos = at + 1;
        return value >>> 0;
      }
    }
    throw malformed(`varint longer than 10 bytes at offset ${this.pos}`);
  }

  /** A varint already checked by next() (so it ends within its message): its low 32 bits. */
  private varint32(): number {
    return this.varint32Within(this.src.length);
  }

  private high = 0;
  private low = 0;

  /** A varint already checked by next(), all 64 bits, into high and low. */
  private varint64(): void {
    const src = this.src;
    let low = 0;
    let high = 0;
    let at = this.pos;
    for (let i = 0; i < 10; i++) {
      const byte = src[at++] & 0x7f;
      if (i < 4) low |= byte << (7 * i);
      else if (i === 4) {
        low |= byte << 28;
        high |= byte >>> 4;
      } else high |= byte << (7 * i - 32);
      if (src[at - 1] < 0x80) break;
      if (i === 9) throw malformed(`varint longer than 10 bytes at offset ${this.pos}`);
    }
    this.pos = at;
    this.low = low >>> 0;
    this.high = high >>> 0;
  }

  /** protobufjs's bool: true when any of the (at most 10) bytes carries a set bit. */
  private boolValue(): boolean {
    const src = this.src;
    let value = false;
    for (let i = 0, at = this.pos; i < 10; i++, at++) {
      const byte = src[at];
      if (byte & 0x7f) value = true;
      if (byte < 0x80) return value;
    }
    throw malformed(`varint longer than 10 bytes at offset ${this.pos}`);
  }
}

const EMPTY_SOURCE = Buffer.alloc(0);
const COMMA_BYTE = Buffer.from([COMMA]);
const CLOSE_BYTE = Buffer.from([CLOSE]);

interface Level {
  readonly singular: Kind;
  readonly singularName: Buffer;
  readonly items: Writer;
  /** Before and after a comma. */
  readonly itemsName: readonly [Buffer, Buffer];
}

/** The message kinds `repeated` walks. */
const ScopeLogsWriter = 0;
const LogRecordWriter = 1;
const KeyValueWriter = 2;
const EntityRefWriter = 3;
const AnyValueWriter = 4;
type Writer = number;

const RESOURCE_LOGS_LEVEL: Level = { singular: Kind.Resource, singularName: RESOURCE, items: ScopeLogsWriter, itemsName: [SCOPE_LOGS, SCOPE_LOGS_] };
const SCOPE_LOGS_LEVEL: Level = { singular: Kind.Scope, singularName: SCOPE, items: LogRecordWriter, itemsName: [LOG_RECORDS, LOG_RECORDS_] };

/** The wire type of each AnyValue member, by field number. */
function memberType(field: number): number {
  switch (field) {
    case 2:
    case 3:
      return VARINT;
    case 4:
      return FIXED64;
    default:
      return LEN;
  }
}

function checkDepth(depth: number): void {
  if (depth > MAX_DEPTH) throw malformed(`messages nested deeper than ${MAX_DEPTH}`);
}

function isZero64(src: Buffer, at: number): boolean {
  return src.readUInt32LE(at) === 0 && src.readUInt32LE(at + 4) === 0;
}

// JSON has no literal for the non-finite doubles; proto3 JSON spells them as strings. -0 is
// kept because String(-0) would silently turn it into 0.
function double(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : String(value);
  if (Number.isNaN(value)) return '"NaN"';
  return value > 0 ? '"Infinity"' : '"-Infinity"';
}

function malformed(what: string): PoisonRecordError {
  return new PoisonRecordError(`malformed ExportLogsServiceRequest: ${what}`);
}

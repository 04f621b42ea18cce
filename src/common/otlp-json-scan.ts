/**
 * A streaming byte-level check of an OTLP/JSON ExportLogsServiceRequest: fed the bytes as
 * they arrive, it says whether they are one valid JSON text, whether that text has the
 * request's shape, and how much it would weigh once decoded. It keeps no value: the state is
 * a fixed stack of container kinds and a few small buffers, so a body of any size costs the
 * same memory and nothing is allocated per value (only an error message, once).
 *
 * Ingest uses it to refuse a bad body with a 400 before acknowledging it (otlp-http-body-check),
 * the exporter to refuse, before JSON.parse, a record whose decoded objects would not fit its
 * heap (record-decoder).
 *
 * Shape rules (proto3 JSON mapping, with OTLP's hex ids): each known field's value must have
 * its type (null stands for absent); names are accepted in lowerCamelCase and as in the
 * .proto; unknown members are ignored (OTLP: receivers MUST ignore unknown fields), except
 * that a request with no resourceLogs but an unknown top-level member is refused, since it
 * is almost certainly a misspelt resourceLogs whose records would vanish silently.
 */

/** What a value is expected to be. */
const enum Kind {
  Any,
  Msg,
  /** A list of messages; its elements are ElemMsg. */
  List,
  /** A message inside a list: null is not allowed there. */
  ElemMsg,
  Str,
  StrList,
  Bytes,
  Hex32,
  Hex16,
  U64,
  I64,
  U32,
  Enum,
  Bool,
  Double,
}

/** The messages of an ExportLogsServiceRequest. */
const enum Msg {
  Request,
  ResourceLogs,
  Resource,
  ScopeLogs,
  Scope,
  LogRecord,
  KeyValue,
  AnyValue,
  ArrayValue,
  KvList,
  EntityRef,
  /** An object the schema does not know (an unknown field's value). */
  Unknown,
}

interface FieldSpec {
  readonly camel: string;
  readonly snake: string;
  readonly kind: Kind;
  readonly msg: Msg;
}

const f = (snake: string, kind: Kind, msg = Msg.Unknown): FieldSpec => ({ snake, camel: snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), kind, msg });

/** Field names and types (opentelemetry-proto logs v1, common v1, resource v1). */
const FIELDS: Record<Msg, readonly FieldSpec[]> = {
  [Msg.Request]: [f('resource_logs', Kind.List, Msg.ResourceLogs)],
  [Msg.ResourceLogs]: [f('resource', Kind.Msg, Msg.Resource), f('scope_logs', Kind.List, Msg.ScopeLogs), f('schema_url', Kind.Str)],
  [Msg.Resource]: [f('attributes', Kind.List, Msg.KeyValue), f('dropped_attributes_count', Kind.U32), f('entity_refs', Kind.List, Msg.EntityRef)],
  [Msg.ScopeLogs]: [f('scope', Kind.Msg, Msg.Scope), f('log_records', Kind.List, Msg.LogRecord), f('schema_url', Kind.Str)],
  [Msg.Scope]: [f('name', Kind.Str), f('version', Kind.Str), f('attributes', Kind.List, Msg.KeyValue), f('dropped_attributes_count', Kind.U32)],
  [Msg.LogRecord]: [
    f('time_unix_nano', Kind.U64),
    f('observed_time_unix_nano', Kind.U64),
    f('severity_number', Kind.Enum),
    f('severity_text', Kind.Str),
    f('body', Kind.Msg, Msg.AnyValue),
    f('attributes', Kind.List, Msg.KeyValue),
    f('dropped_attributes_count', Kind.U32),
    f('flags', Kind.U32),
    f('trace_id', Kind.Hex32),
    f('span_id', Kind.Hex16),
    f('event_name', Kind.Str),
  ],
  [Msg.KeyValue]: [f('key', Kind.Str), f('value', Kind.Msg, Msg.AnyValue)],
  [Msg.AnyValue]: [
    f('string_value', Kind.Str),
    f('bool_value', Kind.Bool),
    f('int_value', Kind.I64),
    f('double_value', Kind.Double),
    f('array_value', Kind.Msg, Msg.ArrayValue),
    f('kvlist_value', Kind.Msg, Msg.KvList),
    f('bytes_value', Kind.Bytes),
  ],
  [Msg.ArrayValue]: [f('values', Kind.List, Msg.AnyValue)],
  [Msg.KvList]: [f('values', Kind.List, Msg.KeyValue)],
  [Msg.EntityRef]: [f('schema_url', Kind.Str), f('type', Kind.Str), f('id_keys', Kind.StrList), f('description_keys', Kind.StrList)],
  [Msg.Unknown]: [],
};

/** The .proto names that differ from their lowerCamelCase form, mapped to it (for the exporter's JSON.parse). */
export const PROTO_TO_CAMEL: ReadonlyMap<string, string> = new Map(
  Object.values(FIELDS)
    .flat()
    .filter((s) => s.snake !== s.camel)
    .map((s) => [s.snake, s.camel]),
);

interface NameMatch {
  readonly name: Uint8Array;
  readonly spec: FieldSpec;
  readonly proto: boolean;
}

const MATCHES: readonly (readonly NameMatch[])[] = Object.values(FIELDS).map((specs) =>
  specs.flatMap((spec) => [
    { name: Buffer.from(spec.camel), spec, proto: false },
    ...(spec.snake === spec.camel ? [] : [{ name: Buffer.from(spec.snake), spec, proto: true }]),
  ]),
);

const SEVERITY_NAMES: readonly Uint8Array[] = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'].map((s) => Buffer.from(`SEVERITY_NUMBER_${s}`));
const DOUBLE_NAMES: readonly Uint8Array[] = ['NaN', 'Infinity', '-Infinity'].map((s) => Buffer.from(s));

/** Largest magnitudes, as decimal digits: [positive, negative] (negative absent: unsigned). */
const RANGE: Partial<Record<Kind, readonly [Uint8Array, Uint8Array | null]>> = {
  [Kind.U64]: [Buffer.from('18446744073709551615'), null],
  [Kind.I64]: [Buffer.from('9223372036854775807'), Buffer.from('9223372036854775808')],
  [Kind.U32]: [Buffer.from('4294967295'), null],
  [Kind.Enum]: [Buffer.from('2147483647'), Buffer.from('2147483648')],
};

/** A double's decimal exponent past this is beyond its range (about 1.8e308). */
const MAX_DOUBLE_EXPONENT = 308;
/** Containers open at once; a real OTLP request needs about 10 plus 4 per AnyValue level. */
export const MAX_JSON_DEPTH = 128;
/** Names, enum names and the double names are short; one longer matches nothing. */
const CAPTURE_BYTES = 64;

/**
 * What the exporter's JSON.parse and protobufjs path costs in heap, per unit of the budget:
 * each JSON value is one unit and each log record one more. Measured (test bench in
 * docs/benchmarks.md) at about 190 bytes per value for attribute-heavy records and 420
 * bytes per empty log record (two units) at its peak; 256 leaves room.
 */
export const HEAP_BYTES_PER_UNIT = 256;

/** The units one request may weigh: half the exporter's heap, the other half for its batch and buffers. */
export function jsonUnitBudget(exportMaxHeapMib: number): number {
  return Math.floor((exportMaxHeapMib * 1024 * 1024) / 2 / HEAP_BYTES_PER_UNIT);
}

const enum St {
  Value,
  AfterValue,
  ObjectFirst,
  ObjectKey,
  Colon,
  ArrayFirst,
  Str,
  Number,
  Literal,
  Done,
}

const enum Num {
  Minus,
  Zero,
  Int,
  Frac0,
  Frac,
  Exp0,
  ExpSign,
  Exp,
}

const LITERALS: readonly Uint8Array[] = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isHex = (b: number): boolean => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const isBase64 = (b: number): boolean => isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2b || b === 0x2f || b === 0x2d || b === 0x5f;
const MSG_NAMES: Record<Msg, string> = {
  [Msg.Request]: 'the request',
  [Msg.ResourceLogs]: 'resourceLogs',
  [Msg.Resource]: 'resource',
  [Msg.ScopeLogs]: 'scopeLogs',
  [Msg.Scope]: 'scope',
  [Msg.LogRecord]: 'logRecords',
  [Msg.KeyValue]: 'attributes',
  [Msg.AnyValue]: 'arrayValue',
  [Msg.ArrayValue]: 'arrayValue',
  [Msg.KvList]: 'kvlistValue',
  [Msg.EntityRef]: 'entityRefs',
  [Msg.Unknown]: 'an unknown field',
};
const KIND_NAMES: Record<Kind, string> = {
  [Kind.Any]: 'a value',
  [Kind.Msg]: 'an object or null',
  [Kind.List]: 'an array or null',
  [Kind.ElemMsg]: 'an object',
  [Kind.Str]: 'a string or null',
  [Kind.StrList]: 'an array of strings or null',
  [Kind.Bytes]: 'a base64 string or null',
  [Kind.Hex32]: 'a string of 32 hex digits, empty or null',
  [Kind.Hex16]: 'a string of 16 hex digits, empty or null',
  [Kind.U64]: 'an unsigned 64-bit integer (number or decimal string) or null',
  [Kind.I64]: 'a 64-bit integer (number or decimal string) or null',
  [Kind.U32]: 'an unsigned 32-bit integer or null',
  [Kind.Enum]: 'a SeverityNumber (name or integer) or null',
  [Kind.Bool]: 'true, false or null',
  [Kind.Double]: 'a number, "NaN", "Infinity", "-Infinity" or null',
};

export interface JsonScanOptions {
  /** Refuse what exceeds this many units (see HEAP_BYTES_PER_UNIT). */
  maxUnits: number;
  /** Apply the shape rules; without, only JSON syntax, depth and the budget are checked. */
  shape: boolean;
}

export class OtlpJsonScanner {
  /** JSON values seen so far. */
  values = 0;
  /** Log records seen so far. */
  logRecords = 0;
  /** A field was named as in the .proto rather than in lowerCamelCase. */
  protoNames = false;

  private readonly maxUnits: number;
  private readonly shape: boolean;
  // The container stack: for an object its message, for an array its elements' kind and message.
  private readonly stackMsg = new Uint8Array(MAX_JSON_DEPTH);
  private readonly stackKind = new Uint8Array(MAX_JSON_DEPTH);
  private readonly stackArray = new Uint8Array(MAX_JSON_DEPTH);
  private depth = 0;
  private state = St.Value;
  private offset = 0;
  // The value being read: what it is expected to be.
  private kind = Kind.Msg;
  private msg = Msg.Request;
  private inKey = false;
  // The current member's name (kept for messages) and a captured string value.
  private readonly key = new Uint8Array(CAPTURE_BYTES);
  private keyLength = 0;
  private readonly capture = new Uint8Array(CAPTURE_BYTES);
  private captureLength = 0;
  // Inside a string.
  private escape = 0;
  private unit = 0;
  private highSurrogate = false;
  private utf8Left = 0;
  private utf8Min = 0x80;
  private utf8Max = 0xbf;
  private chars = 0;
  private base64End = false;
  // Inside a number, or an integer as a string.
  private num = Num.Int;
  private negative = false;
  private digits = 0;
  private order = 0;
  private intDigits = 0;
  private expNegative = false;
  private exp = 0;
  private literal: Uint8Array = LITERALS[0];
  private literalAt = 0;
  // The top level.
  private sawResourceLogs = false;
  private readonly unknownTop = new Uint8Array(CAPTURE_BYTES);
  private unknownTopLength = -1;

  constructor(options: JsonScanOptions) {
    this.maxUnits = options.maxUnits;
    this.shape = options.shape;
  }

  get units(): number {
    return this.values + this.logRecords;
  }

  /** A reason when the bytes so far cannot begin a valid request. */
  push(bytes: Uint8Array): string | undefined {
    for (let i = 0; i < bytes.length; i++) {
      // Plain ASCII inside a string whose content nothing checks: the bulk of a typical body.
      if (this.state === St.Str && !this.inKey && this.escape === 0 && this.utf8Left === 0 && !this.highSurrogate && (this.kind === Kind.Str || this.kind === Kind.Any)) {
        let b = bytes[i];
        while (b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c && i + 1 < bytes.length) b = bytes[++i];
      }
      const problem = this.byte(bytes[i]);
      if (problem !== undefined) return `${problem} (at byte ${this.offset + i})`;
    }
    this.offset += bytes.length;
    return undefined;
  }

  /** A reason when the whole body is not a valid request. */
  finish(): string | undefined {
    if (this.state !== St.Done) return this.values === 0 ? 'the body is empty, not a JSON object' : `the JSON body is truncated (it ends inside a value at byte ${this.offset})`;
    if (this.shape && !this.sawResourceLogs && this.unknownTopLength >= 0) {
      const name = Buffer.from(this.unknownTop.subarray(0, this.unknownTopLength)).toString('utf8');
      const near = name.toLowerCase().replace(/_/g, '') === 'resourcelogs' ? '; did you mean "resourceLogs"?' : '; an ExportLogsServiceRequest has only "resourceLogs"';
      return `the body has no "resourceLogs" but an unknown member ${JSON.stringify(name)}${near}`;
    }
    return undefined;
  }

  private byte(b: number): string | undefined {
    switch (this.state) {
      case St.Str:
        return this.stringByte(b);
      case St.Number:
        if (this.numberByte(b)) return undefined;
        {
          const problem = this.endNumber();
          if (problem !== undefined) return problem;
        }
        this.afterValue();
        return this.byte(b);
      case St.Literal:
        if (b !== this.literal[this.literalAt]) return 'invalid JSON literal';
        if (++this.literalAt === this.literal.length) this.afterValue();
        return undefined;
      default:
        break;
    }
    if (isSpace(b)) return undefined;
    switch (this.state) {
      case St.Value:
        return this.startValue(b);
      case St.ArrayFirst:
        if (b === 0x5d) return this.close();
        return this.startValue(b);
      case St.ObjectFirst:
      case St.ObjectKey:
        if (b === 0x7d && this.state === St.ObjectFirst) return this.close();
        if (b !== 0x22) return 'expected a member name in double quotes';
        this.startString(true);
        return undefined;
      case St.Colon:
        if (b !== 0x3a) return 'expected ":" after a member name';
        this.memberValue();
        this.state = St.Value;
        return undefined;
      case St.AfterValue: {
        const array = this.stackArray[this.depth - 1] === 1;
        if (b === 0x2c) {
          if (array) this.elementValue();
          this.state = array ? St.Value : St.ObjectKey;
          return undefined;
        }
        if (b === (array ? 0x5d : 0x7d)) return this.close();
        return array ? 'expected "," or "]" in an array' : 'expected "," or "}" in an object';
      }
      case St.Done:
        return 'the body has bytes after its JSON object';
    }
    return undefined;
  }

  private startValue(b: number): string | undefined {
    if (++this.values + this.logRecords > this.maxUnits) {
      return `the request is too large to decode: more than ${this.maxUnits} units (a unit is a JSON value or a log record; the limit is half of export.max_heap_mib at ${HEAP_BYTES_PER_UNIT} bytes a unit)`;
    }
    if (this.depth === 0 && b !== 0x7b) return 'the body is not a JSON object (it does not start with "{")';
    const kind = this.kind;
    if (b === 0x7b) {
      if (kind !== Kind.Msg && kind !== Kind.ElemMsg && kind !== Kind.Any) return this.mismatch('an object');
      const msg = kind === Kind.Any ? Msg.Unknown : this.msg;
      if (msg === Msg.LogRecord) this.logRecords++;
      return this.open(false, msg, Kind.Any);
    }
    if (b === 0x5b) {
      if (kind === Kind.List) return this.open(true, this.msg, Kind.ElemMsg);
      if (kind === Kind.StrList) return this.open(true, Msg.Unknown, Kind.Str);
      if (kind !== Kind.Any) return this.mismatch('an array');
      return this.open(true, Msg.Unknown, Kind.Any);
    }
    if (b === 0x22) {
      if (kind === Kind.Msg || kind === Kind.ElemMsg || kind === Kind.List || kind === Kind.StrList || kind === Kind.Bool) {
        const problem = this.mismatch('a string');
        if (problem !== undefined) return problem;
      }
      this.startString(false);
      return undefined;
    }
    if (b === 0x2d || isDigit(b)) {
      if (kind !== Kind.Any && kind !== Kind.U64 && kind !== Kind.I64 && kind !== Kind.U32 && kind !== Kind.Enum && kind !== Kind.Double) {
        const problem = this.mismatch('a number');
        if (problem !== undefined) return problem;
      }
      this.state = St.Number;
      this.negative = b === 0x2d;
      this.num = this.negative ? Num.Minus : b === 0x30 ? Num.Zero : Num.Int;
      this.digits = 0;
      this.order = 0;
      this.intDigits = 0;
      this.exp = 0;
      this.expNegative = false;
      if (!this.negative) this.digit(b);
      this.intDigits = this.digits;
      return undefined;
    }
    const literal = b === 0x74 ? 0 : b === 0x66 ? 1 : b === 0x6e ? 2 : -1;
    if (literal === -1) return 'invalid JSON: expected a value';
    if (literal === 2) {
      if (kind === Kind.ElemMsg && this.shape) return `${this.where()} has a null element; a list's elements must be objects`;
    } else if (kind !== Kind.Any && kind !== Kind.Bool) {
      const problem = this.mismatch(literal === 0 ? 'true' : 'false');
      if (problem !== undefined) return problem;
    }
    this.state = St.Literal;
    this.literal = LITERALS[literal];
    this.literalAt = 1;
    return undefined;
  }

  /** A value of the wrong type: refused in shape mode, else read as an unknown value. */
  private mismatch(got: string): string | undefined {
    if (!this.shape) {
      this.kind = Kind.Any;
      return undefined;
    }
    return `${this.where()} must be ${KIND_NAMES[this.kind]}, not ${got}`;
  }

  private where(): string {
    if (this.stackArray[this.depth - 1] === 1) return `an element of a list in ${MSG_NAMES[this.stackMsg[this.depth - 1] as Msg]}`;
    return `field ${JSON.stringify(Buffer.from(this.key.subarray(0, this.keyLength)).toString('utf8'))}`;
  }

  private open(array: boolean, msg: Msg, elementKind: Kind): string | undefined {
    if (this.depth === MAX_JSON_DEPTH) return `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`;
    this.stackArray[this.depth] = array ? 1 : 0;
    this.stackMsg[this.depth] = msg;
    this.stackKind[this.depth] = elementKind;
    this.depth++;
    this.state = array ? St.ArrayFirst : St.ObjectFirst;
    if (array) this.elementValue();
    return undefined;
  }

  private close(): string | undefined {
    this.depth--;
    this.afterValue();
    return undefined;
  }

  private afterValue(): void {
    this.state = this.depth === 0 ? St.Done : St.AfterValue;
  }

  private elementValue(): void {
    this.kind = this.stackKind[this.depth - 1];
    this.msg = this.stackMsg[this.depth - 1];
  }

  /** The member name just read decides what its value must be. */
  private memberValue(): void {
    const owner = this.stackMsg[this.depth - 1];
    this.kind = Kind.Any;
    this.msg = Msg.Unknown;
    if (owner === Msg.Unknown) return;
    const n = this.keyLength;
    for (const match of MATCHES[owner]) {
      if (match.name.length !== n || n > CAPTURE_BYTES) continue;
      let same = true;
      for (let i = 0; i < n && same; i++) same = match.name[i] === this.key[i];
      if (!same) continue;
      this.kind = this.shape || match.spec.kind === Kind.List || match.spec.kind === Kind.Msg ? match.spec.kind : Kind.Any;
      this.msg = match.spec.msg;
      if (match.proto) this.protoNames = true;
      if (owner === Msg.Request) this.sawResourceLogs = true;
      return;
    }
    if (owner === Msg.Request && this.unknownTopLength < 0) {
      this.unknownTopLength = Math.min(n, CAPTURE_BYTES);
      this.unknownTop.set(this.key.subarray(0, this.unknownTopLength));
    }
  }

  private startString(key: boolean): void {
    this.state = St.Str;
    this.inKey = key;
    if (key) this.keyLength = 0;
    this.captureLength = 0;
    this.escape = 0;
    this.highSurrogate = false;
    this.utf8Left = 0;
    this.chars = 0;
    this.base64End = false;
    this.digits = 0;
    this.order = 0;
    this.negative = false;
  }

  private stringByte(b: number): string | undefined {
    if (this.utf8Left > 0) {
      if (b < this.utf8Min || b > this.utf8Max) return 'a string is not valid UTF-8';
      this.utf8Min = 0x80;
      this.utf8Max = 0xbf;
      this.utf8Left--;
      return this.stringChar(b, false);
    }
    if (this.escape === 1) {
      this.escape = 0;
      if (b === 0x75) {
        this.escape = 2;
        this.unit = 0;
        return undefined;
      }
      if (this.highSurrogate) return 'a string has a lone surrogate (\\uD800-\\uDBFF not followed by \\uDC00-\\uDFFF)';
      const decoded = b === 0x22 || b === 0x5c || b === 0x2f ? b : b === 0x62 ? 8 : b === 0x66 ? 12 : b === 0x6e ? 10 : b === 0x72 ? 13 : b === 0x74 ? 9 : -1;
      if (decoded === -1) return 'a string has an invalid escape';
      return this.stringChar(decoded, true);
    }
    if (this.escape >= 2) {
      if (!isHex(b)) return 'a string has an invalid \\u escape';
      this.unit = this.unit * 16 + (b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x57);
      if (++this.escape < 6) return undefined;
      this.escape = 0;
      const unit = this.unit;
      if (this.highSurrogate) {
        this.highSurrogate = false;
        if (unit < 0xdc00 || unit > 0xdfff) return 'a string has a lone surrogate (\\uD800-\\uDBFF not followed by \\uDC00-\\uDFFF)';
        return undefined;
      }
      if (unit >= 0xdc00 && unit <= 0xdfff) return 'a string has a lone surrogate (\\uDC00-\\uDFFF not preceded by \\uD800-\\uDBFF)';
      if (unit >= 0xd800 && unit <= 0xdbff) {
        this.highSurrogate = true;
        return this.stringChar(0x80, true);
      }
      return this.stringChar(unit < 0x80 ? unit : 0x80, true);
    }
    if (this.highSurrogate && b !== 0x5c) return 'a string has a lone surrogate (\\uD800-\\uDBFF not followed by \\uDC00-\\uDFFF)';
    if (b === 0x22) return this.endString();
    if (b === 0x5c) {
      this.escape = 1;
      return undefined;
    }
    if (b < 0x20) return 'a string has an unescaped control character';
    if (b >= 0x80) {
      if (b >= 0xc2 && b <= 0xdf) this.utf8Left = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        this.utf8Left = 2;
        if (b === 0xe0) this.utf8Min = 0xa0;
        if (b === 0xed) this.utf8Max = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.utf8Left = 3;
        if (b === 0xf0) this.utf8Min = 0x90;
        if (b === 0xf4) this.utf8Max = 0x8f;
      } else return 'a string is not valid UTF-8';
    }
    return this.stringChar(b, false);
  }

  /** One byte of a string's content (an escaped character as its ASCII byte, or 0x80 past ASCII). */
  private stringChar(b: number, escaped: boolean): string | undefined {
    this.chars++;
    if (this.inKey) {
      if (this.keyLength < CAPTURE_BYTES) this.key[this.keyLength] = b;
      this.keyLength++;
      return undefined;
    }
    switch (this.kind) {
      case Kind.Enum:
      case Kind.Double:
        if (this.captureLength < CAPTURE_BYTES) this.capture[this.captureLength] = b;
        this.captureLength++;
        return undefined;
      case Kind.Hex32:
      case Kind.Hex16:
        return escaped || !isHex(b) ? `${this.where()} must be hex digits` : undefined;
      case Kind.Bytes:
        if (escaped) return `${this.where()} must be base64`;
        if (b === 0x3d) this.base64End = true;
        else if (this.base64End || !isBase64(b)) return `${this.where()} must be base64`;
        else this.digits++;
        return undefined;
      case Kind.U64:
      case Kind.U32:
      case Kind.I64:
        if (b === 0x2d && this.chars === 1 && this.kind === Kind.I64 && !escaped) {
          this.negative = true;
          return undefined;
        }
        if (escaped || !isDigit(b)) return `${this.where()} must be ${KIND_NAMES[this.kind]}`;
        this.digit(b);
        return undefined;
      default:
        return undefined;
    }
  }

  private endString(): string | undefined {
    if (this.inKey) {
      this.state = St.Colon;
      return undefined;
    }
    this.afterValue();
    if (!this.shape) return undefined;
    switch (this.kind) {
      case Kind.Hex32:
        return this.chars === 0 || this.chars === 32 ? undefined : `${this.where()} must be 32 hex digits or empty, not ${this.chars} characters`;
      case Kind.Hex16:
        return this.chars === 0 || this.chars === 16 ? undefined : `${this.where()} must be 16 hex digits or empty, not ${this.chars} characters`;
      case Kind.Bytes:
        return this.digits % 4 === 1 ? `${this.where()} is not valid base64 (its length)` : undefined;
      case Kind.U64:
      case Kind.U32:
      case Kind.I64:
        if (this.chars === 0 || (this.negative && this.chars === 1)) return `${this.where()} must be ${KIND_NAMES[this.kind]}, not an empty string`;
        return this.inRange();
      case Kind.Enum:
        return this.oneOf(SEVERITY_NAMES) ? undefined : `${this.where()} is not a SeverityNumber name`;
      case Kind.Double:
        return this.oneOf(DOUBLE_NAMES) ? undefined : `${this.where()} must be a number or "NaN", "Infinity", "-Infinity"`;
      default:
        return undefined;
    }
  }

  private oneOf(names: readonly Uint8Array[]): boolean {
    const n = this.captureLength;
    outer: for (const name of names) {
      if (name.length !== n) continue;
      for (let i = 0; i < n; i++) if (name[i] !== this.capture[i]) continue outer;
      return true;
    }
    return false;
  }

  /** Counts a digit of an integer and compares it, digit by digit, with the kind's largest value. */
  private digit(b: number): void {
    if (this.digits === 0 && b === 0x30) return;
    const range = RANGE[this.kind];
    if (range !== undefined && this.order === 0) {
      const max = this.negative ? range[1] : range[0];
      if (max !== null && this.digits < max.length) this.order = b < max[this.digits] ? -1 : b > max[this.digits] ? 1 : 0;
    }
    this.digits++;
  }

  private inRange(): string | undefined {
    const range = RANGE[this.kind];
    if (range === undefined) return undefined;
    const max = this.negative ? range[1] : range[0];
    if (max === null) return `${this.where()} must not be negative`;
    if (this.digits > max.length || (this.digits === max.length && this.order > 0)) return `${this.where()} is out of range for ${KIND_NAMES[this.kind]}`;
    return undefined;
  }

  /** True while the byte still belongs to the number. */
  private numberByte(b: number): boolean {
    switch (this.num) {
      case Num.Minus:
        if (!isDigit(b)) return false;
        this.num = b === 0x30 ? Num.Zero : Num.Int;
        this.digit(b);
        this.intDigits = this.digits;
        return true;
      case Num.Zero:
      case Num.Int:
        if (isDigit(b) && this.num === Num.Int) {
          this.digit(b);
          this.intDigits = this.digits;
          return true;
        }
        if (b === 0x2e) this.num = Num.Frac0;
        else if (b === 0x65 || b === 0x45) this.num = Num.Exp0;
        else return false;
        return true;
      case Num.Frac0:
      case Num.Frac:
        if (isDigit(b)) this.num = Num.Frac;
        else if (this.num === Num.Frac && (b === 0x65 || b === 0x45)) this.num = Num.Exp0;
        else return false;
        return true;
      case Num.Exp0:
      case Num.ExpSign:
      case Num.Exp:
        if (this.num === Num.Exp0 && (b === 0x2b || b === 0x2d)) {
          this.expNegative = b === 0x2d;
          this.num = Num.ExpSign;
          return true;
        }
        if (!isDigit(b)) return false;
        this.num = Num.Exp;
        if (this.exp < 1e6) this.exp = this.exp * 10 + (b - 0x30);
        return true;
    }
    return false;
  }

  private endNumber(): string | undefined {
    if (this.num === Num.Minus || this.num === Num.Frac0 || this.num === Num.Exp0 || this.num === Num.ExpSign) return 'invalid JSON number';
    if (!this.shape) return undefined;
    const kind = this.kind;
    if (kind === Kind.Double) {
      const magnitude = this.intDigits + (this.expNegative ? -this.exp : this.exp);
      return magnitude > MAX_DOUBLE_EXPONENT + 1 ? `${this.where()} is beyond the range of a double` : undefined;
    }
    if (kind === Kind.U64 || kind === Kind.I64 || kind === Kind.U32 || kind === Kind.Enum) {
      if (this.num !== Num.Zero && this.num !== Num.Int) return `${this.where()} must be an integer, without fraction or exponent`;
      return this.inRange();
    }
    return undefined;
  }
}

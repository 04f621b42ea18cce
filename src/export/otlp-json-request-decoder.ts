/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest (what OTLP/HTTP clients send as
 * application/json) into the same decoded shape as a protobuf request, so that everything
 * after the decoder sees one form.
 *
 * OTLP/JSON is proto3 JSON with OTLP's own rules: trace and span ids are hex rather than
 * base64, enums are integers, 64-bit integers may be strings or numbers, and unknown fields
 * are ignored. The ids are turned into bytes here; protobufjs's fromObject does the rest
 * (lowerCamelCase names, int64 from either form, base64 bytes values, unknown fields
 * skipped). Before any of that, the bytes are scanned (otlp-json-scan.ts, syntax and weight
 * only, no shape rules: records ingest accepted under older rules stay decodable): one
 * that would take more heap than `maxUnits` allows is poison, refused before JSON.parse
 * builds its objects, so that no record can take the exporter's heap down. Fields named as
 * in the .proto (resource_logs), which protobuf JSON parsers accept, are renamed to
 * lowerCamelCase while parsing, only when the scan saw one. JSON.parse makes `__proto__` an ordinary own key, and fromObject reads only the
 * fields the schema names, so keys from the network never reach a prototype.
 */
import { PoisonRecordError } from '../common/errors';
import { OtlpJsonScanner, PROTO_TO_CAMEL } from '../common/otlp-json-scan';
import { ExportLogsServiceRequest, type OtlpLogsRequest } from '../common/otlp-proto';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const ID_HEX_LENGTH = { traceId: 32, spanId: 16 } as const;

type Json = Record<string, unknown>;

export function decodeJsonLogsRequest(bytes: Uint8Array, maxUnits: number): OtlpLogsRequest {
  const scan = new OtlpJsonScanner({ maxUnits, shape: false });
  const problem = scan.push(bytes) ?? scan.finish();
  if (problem !== undefined) throw new PoisonRecordError(`OTLP/JSON request refused before decoding (${bytes.byteLength} bytes): ${problem}`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = scan.protoNames ? JSON.parse(text, toCamelCase) : JSON.parse(text);
  } catch (err) {
    throw new PoisonRecordError(`malformed OTLP/JSON request (${bytes.byteLength} bytes): ${(err as Error).message}`, err);
  }
  if (!isObject(parsed)) throw new PoisonRecordError('OTLP/JSON request is not a JSON object');
  idsToBytes(parsed);
  try {
    return ExportLogsServiceRequest.fromObject(parsed) as unknown as OtlpLogsRequest;
  } catch (err) {
    throw new PoisonRecordError(`OTLP/JSON request does not match ExportLogsServiceRequest: ${(err as Error).message}`, err);
  }
}

/** A reviver renaming .proto field names to lowerCamelCase (the names protobufjs reads). */
function toCamelCase(this: Json, key: string, value: unknown): unknown {
  const camel = PROTO_TO_CAMEL.get(key);
  if (camel === undefined) return value;
  this[camel] = value;
  return undefined;
}

/** Replaces each log record's hex traceId and spanId by their bytes, checking their length. */
function idsToBytes(request: Json): void {
  for (const resourceLogs of arrayAt(request, 'resourceLogs')) {
    for (const scopeLogs of arrayAt(resourceLogs, 'scopeLogs')) {
      for (const record of arrayAt(scopeLogs, 'logRecords')) {
        for (const key of ['traceId', 'spanId'] as const) {
          const hex = record[key];
          if (hex === undefined || hex === null) continue;
          if (typeof hex !== 'string' || !HEX.test(hex) || (hex.length !== 0 && hex.length !== ID_HEX_LENGTH[key])) {
            throw new PoisonRecordError(`log record ${key} must be empty or ${ID_HEX_LENGTH[key]} hex digits, got ${JSON.stringify(hex).slice(0, 80)}`);
          }
          record[key] = Buffer.from(hex, 'hex');
        }
      }
    }
  }
}

/** The objects in a list field; anything else is left for fromObject to refuse. */
function arrayAt(message: unknown, key: string): Json[] {
  const list = isObject(message) ? message[key] : undefined;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

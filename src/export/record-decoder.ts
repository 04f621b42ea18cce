/**
 * Turns a ring record into a decoded OTLP request. This is where the parsing that ingest
 * skipped finally happens, and where a request that cannot be parsed is recognised as
 * poison (to be dead-lettered, not retried). Lines records have a path of their own
 * (lines-decoder.ts), since they are built, not parsed.
 */
import { gunzipSync } from 'node:zlib';
import { PoisonRecordError } from '../common/errors';
import { decodeLogsRequest } from '../common/otlp-proto';
import { RecordFlag, RecordKind } from '../common/record-kind';
import type { RingRecord } from '../common/ring';
import { decodeJsonLogsRequest } from './otlp-json-request-decoder';

export type LogsRequest = ReturnType<typeof decodeLogsRequest>;

/** `maxJsonUnits`: the most a JSON record may weigh decoded (otlp-json-scan.ts jsonUnitBudget). */
export function decodeRecord(record: RingRecord, maxMessageBytes: number, maxJsonUnits: number): LogsRequest {
  if (record.kind === RecordKind.OtlpHttpJson) return decodeJsonLogsRequest(payloadOf(record, maxMessageBytes), maxJsonUnits);
  if (record.kind !== RecordKind.OtlpGrpc && record.kind !== RecordKind.OtlpHttpProto) {
    throw new PoisonRecordError(`record kind ${record.kind} has no decoder in this version`);
  }
  return decodeLogsRequest(payloadOf(record, maxMessageBytes));
}

/** The payload as a serialized request: inflated when the client sent it gzipped. */
export function payloadOf(record: Pick<RingRecord, 'flags' | 'payload'>, maxMessageBytes: number): Uint8Array {
  if ((record.flags & RecordFlag.Gzip) === 0) return record.payload;
  try {
    // The limit stops a decompression bomb at the same size ingest accepts uncompressed.
    return gunzipSync(record.payload, { maxOutputLength: maxMessageBytes });
  } catch (err) {
    throw new PoisonRecordError(`gzip payload cannot be inflated within ${maxMessageBytes} bytes: ${(err as Error).message}`, err);
  }
}

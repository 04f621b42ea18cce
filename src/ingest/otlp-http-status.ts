/**
 * OTLP/HTTP answers: an empty ExportLogsServiceResponse on success, a google.rpc.Status on
 * failure, each in the encoding the request used (the OTLP specification asks the server to
 * answer in the request's content type). Retryable refusals carry a RetryInfo detail beside
 * the Retry-After header, as the gRPC receiver does in its status details.
 */
import { encodeRetryableStatus, encodeStatusMessage } from '../common/rpc-status';
import { GrpcStatus } from './grpc-status';

export type BodyEncoding = 'proto' | 'json';

export const CONTENT_TYPE: Record<BodyEncoding, string> = { proto: 'application/x-protobuf', json: 'application/json' };

/** An empty ExportLogsServiceResponse: no partial_success means everything was accepted. */
export const OK_BODY: Record<BodyEncoding, Buffer> = { proto: Buffer.alloc(0), json: Buffer.from('{}') };

/** The google.rpc code that goes with each HTTP status we answer with. */
export const RPC_CODE_OF_HTTP_STATUS: Readonly<Record<number, number>> = {
  400: 3, // INVALID_ARGUMENT
  404: GrpcStatus.UNIMPLEMENTED,
  405: GrpcStatus.UNIMPLEMENTED,
  408: GrpcStatus.DEADLINE_EXCEEDED, // the body stopped arriving (idle_timeout_ms)
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  415: GrpcStatus.UNIMPLEMENTED,
  429: GrpcStatus.UNAVAILABLE,
  503: GrpcStatus.UNAVAILABLE,
};

export function encodeStatus(encoding: BodyEncoding, httpStatus: number, message: string, retryDelayMs?: number): Buffer {
  // UNKNOWN for a status missing from the table: an answer must never throw.
  const code = RPC_CODE_OF_HTTP_STATUS[httpStatus] ?? 2;
  if (encoding === 'proto') {
    if (retryDelayMs !== undefined) return encodeRetryableStatus(code, message, retryDelayMs);
    return encodeStatusMessage(code, message);
  }
  // proto3 JSON: a Duration is decimal seconds with an "s"; Any names its type in "@type".
  const details = retryDelayMs === undefined ? undefined : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryDelayMs / 1000}s` }];
  return Buffer.from(JSON.stringify({ code, message, details }));
}

/**
 * The gRPC status vocabulary ingest answers with, and the one response shape every refusal
 * uses: Trailers-Only, i.e. a single HEADERS frame carrying `:status 200` and the status,
 * which a client reads as the end of the call without any message.
 */
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';

/** Numeric values are fixed by the gRPC spec (doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** What ingest can take; sent on every response so a client can pick compression. */
export const ACCEPT_ENCODING = 'identity,gzip';

/**
 * grpc-message must be printable ASCII without '%'; everything else (including UTF-8 bytes
 * of non-ASCII text) becomes %XX so that a client can restore the original string.
 */
export function percentEncodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Ends the call with `code`. The stream is then reset (NO_ERROR unless told otherwise) when
 * the client may still be sending: the gRPC spec asks for that after early trailers so that
 * the client stops uploading and both sides free the stream.
 */
export function respondTrailersOnly(
  stream: ServerHttp2Stream,
  code: GrpcStatus,
  message: string,
  extra?: OutgoingHttpHeaders,
  resetCode: number = constants.NGHTTP2_NO_ERROR,
): void {
  // node:http2 throws on a response to a stream the client has already reset.
  if (stream.closed || stream.destroyed || stream.headersSent) return;
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-accept-encoding': ACCEPT_ENCODING,
      'grpc-status': code,
      'grpc-message': percentEncodeGrpcMessage(message),
      ...extra,
    },
    { endStream: true },
  );
  if (!stream.readableEnded) stream.close(resetCode);
}

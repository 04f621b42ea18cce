/**
 * The OTLP/gRPC logs receiver, on node:http2 directly rather than the grpc-js server: grpc-js
 * never raises the HTTP/2 receive window above 64 KiB, which halves the rate of large batches.
 *
 * A request is never decoded here. Its single message is located in the DATA chunks (see
 * grpc-frame-decoder), offered as is to the sink (gzip stays compressed, flagged), and only
 * once the sink took it does the client get its OK: the ring, not this process, is where a
 * record becomes durable. Every other outcome is a Trailers-Only status.
 */
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { TlsOptions } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { describe } from '../common/errors';
import { createLogger, type Logger } from '../common/log';
import { encodeRetryableStatus } from '../common/rpc-status';
import { RecordFlag, RecordKind, type RecordSink } from '../common/record-kind';
import { guardTlsServer } from '../common/tls-context';
import { GrpcUnaryFrameDecoder, type FrameProblem } from './grpc-frame-decoder';
import { ACCEPT_ENCODING, GrpcStatus, respondTrailersOnly } from './grpc-status';
import { capConnections } from './connection-cap';
import { InflightBudget, type InflightShare } from './inflight-budget';
import { listenOn } from '../common/listen-on';
import { CAPACITY_MESSAGES, isCapacityRefusal, type CapacityRefusal, type ProtocolCounters, type Receiver } from './receiver';

export const EXPORT_LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

export interface OtlpGrpcServerOptions {
  sink: RecordSink;
  maxMessageBytes: number;
  maxConcurrentStreams: number;
  /** Per-stream HTTP/2 receive window; the connection gets one per concurrent stream. */
  windowBytes: number;
  /**
   * Request bytes held before they reach the sink; a worker shares one across its servers.
   * Default: a budget of its own, four maximum messages.
   */
  inflight?: InflightBudget;
  /** TLS (tls-context.ts tlsServerOptions); absent: plaintext (h2c). */
  tls?: TlsOptions;
  /** Told to clients refused because the ring is full; default 1000. */
  retryDelayMs?: number;
  /** A request with no DATA frame for this long is reset and its bytes given back; absent: never. */
  streamIdleTimeoutMs?: number;
  /** A request whose message is not complete this long after its headers is reset the same way, however it trickles; absent: never. */
  streamTimeoutMs?: number;
  /** Connections this listener holds at once (connection-cap.ts); absent: no cap. */
  maxConnections?: number;
  log?: Logger;
}

/**
 * Besides the capacity refusals: `unimplemented`, a wrong path or an unsupported
 * grpc-encoding; `notGrpc`, not a gRPC request at all (wrong method or content-type);
 * `streamIdle`, no DATA frame within stream_idle_timeout_ms before the message was complete.
 */
export type OtlpGrpcCounters = ProtocolCounters<CapacityRefusal | 'tooLarge' | 'malformed' | 'unimplemented' | 'notGrpc' | 'deadlineExceeded' | 'streamIdle'>;

export type OtlpGrpcServer = Receiver<OtlpGrpcCounters>;

// One window per concurrent stream, but no more than this unless a single stream needs it:
// past it one connection only gets to hog memory, not throughput.
const MAX_CONNECTION_WINDOW = 64 * 1024 * 1024;
// A connection with no frame at all for this long gets a GOAWAY, so that idle clients do not
// keep ingest.max_connections full. Long enough that an SDK exporting every few seconds keeps
// its connection; one that reconnects after it loses nothing (GOAWAY is graceful).
const SESSION_IDLE_MS = 120_000;
// setTimeout fires at once for delays past 2^31-1 ms; a deadline that far away is none.
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
// "application/grpc", optionally "+proto", optionally parameters.
const GRPC_PROTO_CONTENT_TYPE = /^application\/grpc(?:\+proto)?(?:;|$)/;

// Node copies header objects before sending, so one frozen set serves every call.
const OK_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING });
const OK_TRAILERS = Object.freeze({ 'grpc-status': String(GrpcStatus.OK) });
/** An empty ExportLogsServiceResponse: uncompressed, zero length, no fields. */
const EMPTY_RESPONSE_MESSAGE = Buffer.alloc(5);

export function createOtlpGrpcServer(options: OtlpGrpcServerOptions): OtlpGrpcServer {
  const { sink, maxMessageBytes, maxConcurrentStreams, windowBytes, streamIdleTimeoutMs, streamTimeoutMs } = options;
  const inflight = options.inflight ?? new InflightBudget(4 * maxMessageBytes, maxMessageBytes);
  const log = options.log ?? createLogger('otlp-grpc');
  const connectionWindow = Math.max(windowBytes, Math.min(windowBytes * maxConcurrentStreams, MAX_CONNECTION_WINDOW));
  // Refusals come in storms while the ring is full: encode the status details once.
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const retryExtra = (message: string): Readonly<Record<string, string>> =>
    Object.freeze({ 'grpc-status-details-bin': unpaddedBase64(encodeRetryableStatus(GrpcStatus.UNAVAILABLE, message, retryDelayMs)) });
  const capacityExtra: Record<CapacityRefusal, Readonly<Record<string, string>>> = { ringFull: retryExtra(CAPACITY_MESSAGES.ringFull), overloaded: retryExtra(CAPACITY_MESSAGES.overloaded) };
  const counters: OtlpGrpcCounters = {
    acceptedRequests: 0,
    acceptedBytes: 0,
    refused: { ringFull: 0, overloaded: 0, tooLarge: 0, malformed: 0, unimplemented: 0, notGrpc: 0, deadlineExceeded: 0, streamIdle: 0 },
    cancelled: 0,
  };
  const sessions = new Map<ServerHttp2Session, InflightShare>();
  let closed: Promise<void> | undefined;

  const settings = { initialWindowSize: windowBytes, maxConcurrentStreams };
  const server: Http2Server | Http2SecureServer = options.tls === undefined ? createServer({ settings }) : createSecureServer({ ...options.tls, settings });
  if (options.tls !== undefined) guardTlsServer(server as Http2SecureServer, options.tls, log, 'otlp grpc');
  const connections = capConnections(server, options.maxConnections, log, 'otlp grpc');
  server.on('session', (session: ServerHttp2Session) => {
    sessions.set(session, inflight.connection());
    session.setTimeout(SESSION_IDLE_MS, () => session.close());
    session.once('close', () => sessions.delete(session));
    session.on('error', (err) => log.debug('otlp grpc session error', { err }));
    session.setLocalWindowSize(connectionWindow);
    // A connection accepted just before close() must not outlive it.
    if (closed !== undefined) session.close();
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', (err) => log.debug('otlp grpc stream error', { err }));
    // HTTP-level refusals first: an HTTP status stops a non-gRPC client from reading a 200
    // as success (the spec's reason for 415). grpc-web and the JSON codec are refused there
    // too: their bytes would be stored and fail only in the exporter, as poison.
    if (headers[':method'] !== 'POST') return refuseNotGrpc(stream, constants.HTTP_STATUS_METHOD_NOT_ALLOWED);
    if (!GRPC_PROTO_CONTENT_TYPE.test(headers['content-type'] ?? '')) return refuseNotGrpc(stream, constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE);
    const path = headers[':path'];
    if (path !== EXPORT_LOGS_PATH) {
      return refuse(stream, 'unimplemented', GrpcStatus.UNIMPLEMENTED, `method ${describe(path)} is not implemented; this server implements only ${EXPORT_LOGS_PATH}`);
    }
    const encoding = headers['grpc-encoding'] ?? 'identity';
    if (encoding !== 'identity' && encoding !== 'gzip') {
      return refuse(stream, 'unimplemented', GrpcStatus.UNIMPLEMENTED, `grpc-encoding ${describe(encoding)} is not supported (accepted: ${ACCEPT_ENCODING})`);
    }
    const timeout = headers['grpc-timeout'];
    const timeoutMs = timeout === undefined ? undefined : parseGrpcTimeout(timeout);
    if (Number.isNaN(timeoutMs)) return refuse(stream, 'malformed', GrpcStatus.INTERNAL, `invalid grpc-timeout ${describe(timeout)}`);
    handleExport(stream, sessions.get(stream.session as ServerHttp2Session)!, encoding === 'gzip', timeoutMs);
  });

  function refuseNotGrpc(stream: ServerHttp2Stream, status: number): void {
    counters.refused.notGrpc++;
    if (stream.closed || stream.destroyed) return;
    stream.respond(status === constants.HTTP_STATUS_METHOD_NOT_ALLOWED ? { ':status': status, allow: 'POST' } : { ':status': status }, { endStream: true });
    if (!stream.readableEnded) stream.close();
  }

  function refuse(stream: ServerHttp2Stream, counter: keyof OtlpGrpcCounters['refused'], code: GrpcStatus, message: string, resetCode?: number): void {
    counters.refused[counter]++;
    const extra = isCapacityRefusal(counter) ? capacityExtra[counter] : undefined;
    respondTrailersOnly(stream, code, message, extra, resetCode);
  }

  function handleExport(stream: ServerHttp2Stream, share: InflightShare, gzip: boolean, timeoutMs: number | undefined): void {
    const decoder = new GrpcUnaryFrameDecoder(maxMessageBytes, gzip);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    let answered = false;
    let held = 0;
    const answer = (counter: keyof OtlpGrpcCounters['refused'], code: GrpcStatus, message: string, resetCode?: number): void => {
      answered = true;
      refuse(stream, counter, code, message, resetCode);
    };
    const answerFrameProblem = (problem: FrameProblem): void => {
      if (problem.kind === 'too-large') {
        answer('tooLarge', GrpcStatus.RESOURCE_EXHAUSTED, `message of ${problem.length} bytes exceeds the maximum of ${maxMessageBytes} (ingest.max_message_bytes)`);
      } else {
        answer('malformed', GrpcStatus.INTERNAL, problem.reason);
      }
    };
    // The spec has the server cancel (RST CANCEL) a call whose deadline passed mid-upload.
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      if (!answered) answer('deadlineExceeded', GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded before the request was complete', constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    // A stalled upload would keep its bytes in the shared budget for as long as the client
    // likes; refreshed (not re-created) on every DATA frame, it costs the fast path little.
    // UNAVAILABLE: a client that was only slow may retry, as for any transient failure.
    const idle = streamIdleTimeoutMs === undefined ? undefined : setTimeout(() => {
      if (!answered) answer('streamIdle', GrpcStatus.UNAVAILABLE, `no DATA frame for ${streamIdleTimeoutMs} ms before the message was complete (ingest.otlp_grpc.stream_idle_timeout_ms)`);
    }, streamIdleTimeoutMs);
    // A client that trickles a byte now and then refreshes the idle timer for ever: the
    // whole upload gets a bound of its own, counted with the stalled ones.
    const slow = streamTimeoutMs === undefined ? undefined : setTimeout(() => {
      if (!answered) answer('streamIdle', GrpcStatus.UNAVAILABLE, `message not complete ${streamTimeoutMs} ms after its headers (ingest.otlp_grpc.stream_timeout_ms)`);
    }, streamTimeoutMs);

    stream.on('data', (chunk: Buffer) => {
      if (answered) return;
      idle?.refresh();
      // The frame header is judged first: a message over the limit is never retryable.
      const problem = decoder.push(chunk);
      if (problem !== undefined) return answerFrameProblem(problem);
      if (!share.take(chunk.length)) return answer('overloaded', GrpcStatus.UNAVAILABLE, CAPACITY_MESSAGES.overloaded);
      held += chunk.length;
    });
    stream.once('end', () => {
      clearTimeout(idle);
      clearTimeout(slow);
      // node:http2 also ends the readable side when the client resets the stream (CANCEL or
      // NO_ERROR); only a real END_STREAM on a stream we can still answer completes a request.
      if (answered || stream.closed || stream.destroyed) return;
      const message = decoder.finish();
      if ('kind' in message) return answerFrameProblem(message);
      // The client has given up already; storing the request would duplicate its retry.
      if (performance.now() >= deadline) return answer('deadlineExceeded', GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded before the request was stored');
      if (!sink.offer(RecordKind.OtlpGrpc, message.compressed ? RecordFlag.Gzip : 0, message.chunks, message.length)) {
        return answer('ringFull', GrpcStatus.UNAVAILABLE, CAPACITY_MESSAGES.ringFull);
      }
      answered = true;
      counters.acceptedRequests++;
      counters.acceptedBytes += message.length;
      const durable = sink.whenDurable?.();
      if (durable === undefined) respondOk(stream);
      else durable.then(() => respondOk(stream));
    });
    stream.once('close', () => {
      clearTimeout(timer);
      clearTimeout(idle);
      clearTimeout(slow);
      share.give(held);
      if (!answered) counters.cancelled++;
    });
  }

  function respondOk(stream: ServerHttp2Stream): void {
    // A client that gave up while its record was being made durable gets nothing; the
    // record stays stored (at least once: its retry may store it again).
    if (stream.closed || stream.destroyed) return;
    stream.respond(OK_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    stream.end(EMPTY_RESPONSE_MESSAGE);
  }

  return {
    counters,
    connections,

    listen: (target) => listenOn(server, target, log, 'otlp grpc'),

    address: () => server.address(),

    setSecureContext(secure) {
      if (options.tls !== undefined) (server as Http2SecureServer).setSecureContext(secure);
    },

    close(graceMs) {
      closed ??= new Promise<void>((resolve) => {
        const cutoff = setTimeout(() => {
          for (const session of sessions.keys()) session.destroy();
        }, graceMs).unref();
        server.close(() => {
          clearTimeout(cutoff);
          resolve();
        });
        // GOAWAY: no new streams; the session closes itself once its streams are done.
        for (const session of sessions.keys()) session.close();
      });
      return closed;
    },
  };
}

/** Milliseconds; NaN when malformed, undefined when too far away to matter. */
function parseGrpcTimeout(value: string | string[]): number | undefined {
  const m = typeof value === 'string' ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) return NaN;
  const ms = Number(m[1]) * TIMEOUT_UNIT_MS[m[2]];
  return ms > MAX_TIMER_MS ? undefined : ms;
}

function unpaddedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

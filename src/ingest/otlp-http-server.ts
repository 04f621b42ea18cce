/**
 * The OTLP/HTTP logs receiver: POST /v1/logs with a protobuf or JSON body, optionally gzip.
 *
 * The body is stored as received, compressed bodies included (flagged, as the gRPC receiver
 * does): the ring and, under Red, the vault then hold the smaller bytes, and nothing here
 * ever holds an inflated copy. The limit on the inflated size and the structural check
 * (otlp-http-body-check) still need the inflated bytes, so a gzip body is inflated as it
 * arrives, into a small reused window that is counted, checked and dropped: the CPU of one
 * extra inflate buys never holding more than the compressed bytes, and a decompression bomb
 * stops at the limit. The client hears OK only once the record is in a ring.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { createGunzip, constants as zlibConstants, type Gunzip } from 'node:zlib';
import { describe } from '../common/errors';
import { createLogger, type Logger } from '../common/log';
import { RecordFlag, RecordKind, type RecordSink } from '../common/record-kind';
import { guardTlsServer } from '../common/tls-context';
import type { Socket } from 'node:net';
import { capConnections } from './connection-cap';
import { InflightBudget, type InflightShare } from './inflight-budget';
import { listenOn } from '../common/listen-on';
import { CAPACITY_MESSAGES, isCapacityRefusal, type CapacityRefusal, type ProtocolCounters, type Receiver } from './receiver';
import { jsonRequestCheck, ProtoTopLevelCheck, type BodyCheck } from './otlp-http-body-check';
import { CONTENT_TYPE, OK_BODY, encodeStatus, type BodyEncoding } from './otlp-http-status';

export const LOGS_PATH = '/v1/logs';

export interface OtlpHttpServerOptions {
  sink: RecordSink;
  /** The largest body, counted after decompression. */
  maxBodyBytes: number;
  /** The most a JSON body may weigh once decoded (otlp-json-scan.ts jsonUnitBudget of export.max_heap_mib). */
  maxJsonUnits: number;
  /** Request bytes held before they reach the sink; a worker shares one across its servers. */
  inflight: InflightBudget;
  /** Told to clients refused under pressure (Retry-After, RetryInfo); default 1000. */
  retryDelayMs?: number;
  /** TLS (tls-context.ts tlsServerOptions, ALPN http/1.1); absent: plaintext. */
  tls?: TlsOptions;
  /**
   * Longest silence on a connection: mid-body (the request is answered 408 and its bytes
   * given back), while headers arrive, and between kept-alive requests. Absent: node's defaults.
   */
  idleTimeoutMs?: number;
  /** Longest time from a request's first byte to its last, however steadily it trickles. */
  requestTimeoutMs?: number;
  /** Connections this listener holds at once (connection-cap.ts); absent: no cap. */
  maxConnections?: number;
  log?: Logger;
}

/** `bodyIdle`: the body stopped arriving for idle_timeout_ms before it was complete. */
export type OtlpHttpCounters = ProtocolCounters<CapacityRefusal | 'tooLarge' | 'malformed' | 'notFound' | 'methodNotAllowed' | 'unsupportedMediaType' | 'bodyIdle'> & { acceptedJsonLogRecords: number };

export type OtlpHttpServer = Receiver<OtlpHttpCounters>;

const KIND: Record<BodyEncoding, RecordKind> = { proto: RecordKind.OtlpHttpProto, json: RecordKind.OtlpHttpJson };
const MEDIA_TYPES: Readonly<Record<string, BodyEncoding>> = { 'application/x-protobuf': 'proto', 'application/json': 'json' };
/** Inflated bytes are only counted and checked, never kept: one window serves a whole body. */
const INFLATE_CHUNK_BYTES = 64 * 1024;
const CAPACITY_STATUS: Record<CapacityRefusal, number> = { ringFull: 503, overloaded: 429 };
/**
 * node checks headersTimeout and requestTimeout on an interval (30 s by default), so a limit
 * is kept to within a tenth of itself, but no more often than this.
 */
const MIN_TIMEOUT_CHECK_MS = 100;

type Refusal = keyof OtlpHttpCounters['refused'];

export function createOtlpHttpServer(options: OtlpHttpServerOptions): OtlpHttpServer {
  const { sink, maxBodyBytes, inflight, maxJsonUnits } = options;
  const log = options.log ?? createLogger('otlp-http');
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const retryAfter = String(Math.max(1, Math.ceil(retryDelayMs / 1000)));
  const capacityBody = (reason: CapacityRefusal, encoding: BodyEncoding): Buffer => encodeStatus(encoding, CAPACITY_STATUS[reason], CAPACITY_MESSAGES[reason], retryDelayMs);
  const capacityBodies: Record<CapacityRefusal, Record<BodyEncoding, Buffer>> = {
    ringFull: { proto: capacityBody('ringFull', 'proto'), json: capacityBody('ringFull', 'json') },
    overloaded: { proto: capacityBody('overloaded', 'proto'), json: capacityBody('overloaded', 'json') },
  };
  const counters: OtlpHttpCounters = {
    acceptedRequests: 0,
    acceptedBytes: 0,
    refused: { ringFull: 0, overloaded: 0, tooLarge: 0, malformed: 0, notFound: 0, methodNotAllowed: 0, unsupportedMediaType: 0, bodyIdle: 0 },
    cancelled: 0,
    acceptedJsonLogRecords: 0,
  };
  // Each connection draws on the worker's budget through its own share (inflight-budget.ts).
  const shares = new WeakMap<Socket, InflightShare>();
  let closed: Promise<void> | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const encoding = MEDIA_TYPES[mediaType(req.headers['content-type'])];
    // Answers come in the request's encoding; a request in neither gets protobuf.
    const answerIn = encoding ?? 'proto';
    if (req.url?.split('?')[0] !== LOGS_PATH) {
      return refuse(req, res, answerIn, 'notFound', 404, `no such path ${describe(req.url)}; OTLP logs are accepted at ${LOGS_PATH}`);
    }
    if (req.method !== 'POST') return refuse(req, res, answerIn, 'methodNotAllowed', 405, `method ${req.method} is not allowed; use POST`, { allow: 'POST' });
    if (encoding === undefined) {
      return refuse(req, res, answerIn, 'unsupportedMediaType', 415, `content-type ${describe(req.headers['content-type'])} is not supported (accepted: application/x-protobuf, application/json)`);
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
      return refuse(req, res, answerIn, 'unsupportedMediaType', 415, `content-encoding ${describe(contentEncoding)} is not supported (accepted: gzip, identity)`);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) return refuse(req, res, encoding, 'tooLarge', 413, tooLargeMessage());
    let share = shares.get(req.socket);
    if (share === undefined) shares.set(req.socket, (share = inflight.connection()));
    receive(req, res, share, encoding, contentEncoding === 'gzip');
  };
  const serverOptions = timeoutOptions(options.idleTimeoutMs, options.requestTimeoutMs);
  const server: Server | HttpsServer = options.tls === undefined ? createServer(serverOptions, handle) : createHttpsServer({ ...options.tls, ...serverOptions }, handle);
  if (options.idleTimeoutMs !== undefined) server.setTimeout(options.idleTimeoutMs);
  if (options.tls !== undefined) guardTlsServer(server as HttpsServer, options.tls, log, 'otlp http');
  const connections = capConnections(server, options.maxConnections, log, 'otlp http');

  function tooLargeMessage(): string {
    return `body exceeds the maximum of ${maxBodyBytes} bytes after decompression (ingest.otlp_http.max_body_bytes)`;
  }

  function refuse(req: IncomingMessage, res: ServerResponse, encoding: BodyEncoding, counter: Refusal, status: number, message: string, headers: Record<string, string> = {}): void {
    counters.refused[counter]++;
    if (res.headersSent || res.destroyed) return;
    const retryable = isCapacityRefusal(counter);
    const body = retryable ? capacityBodies[counter][encoding] : encodeStatus(encoding, status, message);
    if (retryable) headers['retry-after'] = retryAfter;
    // A body we stop reading must not be taken as the next request on this connection.
    if (!req.complete) headers.connection = 'close';
    res.writeHead(status, { 'content-type': CONTENT_TYPE[encoding], 'content-length': body.length, ...headers });
    res.end(body);
  }

  function receive(req: IncomingMessage, res: ServerResponse, inflight: InflightShare, encoding: BodyEncoding, gzip: boolean): void {
    const check: BodyCheck = encoding === 'proto' ? new ProtoTopLevelCheck() : jsonRequestCheck(maxJsonUnits);
    const chunks: Buffer[] = [];
    let received = 0;
    let inflated = 0;
    let held = 0;
    let answered = false;
    let requestEnded = false;
    let inflateEnded = false;
    const release = (): void => {
      inflight.give(held);
      held = 0;
      chunks.length = 0;
    };
    const answer = (counter: Refusal, status: number, message: string): void => {
      answered = true;
      gunzip?.destroy();
      release();
      refuse(req, res, encoding, counter, status, message);
    };
    const checked = (bytes: Buffer): void => {
      if (answered) return;
      const problem = check.push(bytes);
      if (problem !== undefined) answer('malformed', 400, problem);
    };
    const complete = (): void => {
      if (answered) return;
      const problem = check.finish();
      if (problem !== undefined) return answer('malformed', 400, problem);
      if (!sink.offer(KIND[encoding], gzip ? RecordFlag.Gzip : 0, chunks, received)) return answer('ringFull', CAPACITY_STATUS.ringFull, CAPACITY_MESSAGES.ringFull);
      answered = true;
      release();
      counters.acceptedRequests++;
      counters.acceptedBytes += received;
      counters.acceptedJsonLogRecords += check.logRecords ?? 0;
      const durable = sink.whenDurable?.();
      if (durable === undefined) respondOk(res, encoding);
      else durable.then(() => respondOk(res, encoding));
    };

    const gunzip: Gunzip | undefined = gzip ? createGunzip({ chunkSize: INFLATE_CHUNK_BYTES }) : undefined;
    if (gunzip !== undefined) {
      gunzip.on('data', (out: Buffer) => {
        inflated += out.length;
        if (inflated > maxBodyBytes) return answer('tooLarge', 413, tooLargeMessage());
        checked(out);
      });
      gunzip.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        const truncated = err.code === 'Z_BUF_ERROR' || err.errno === zlibConstants.Z_BUF_ERROR;
        answer('malformed', 400, truncated ? 'the gzip body is truncated' : `the body is not valid gzip: ${err.message}`);
      });
      // A gzip stream that ends before the body does has trailing bytes, judged in 'data'.
      gunzip.on('end', () => {
        inflateEnded = true;
        if (requestEnded) complete();
      });
    }

    req.on('data', (chunk: Buffer) => {
      if (answered) return;
      received += chunk.length;
      // The wire bytes are held to the limit too: they are what the ring must take.
      if (received > maxBodyBytes) return answer('tooLarge', 413, tooLargeMessage());
      if (!inflight.take(chunk.length)) return answer('overloaded', CAPACITY_STATUS.overloaded, CAPACITY_MESSAGES.overloaded);
      held += chunk.length;
      chunks.push(chunk);
      if (inflateEnded) answer('malformed', 400, 'the body has bytes after the end of its gzip stream');
      else if (gunzip !== undefined) gunzip.write(chunk);
      else checked(chunk);
    });
    // node emits it on the request only while the body is incomplete; without a listener it
    // would drop the connection silently, uncounted and unanswered.
    req.once('timeout', () => {
      if (!answered) answer('bodyIdle', 408, `no body bytes for ${options.idleTimeoutMs} ms before the body was complete (ingest.otlp_http.idle_timeout_ms)`);
    });
    req.once('end', () => {
      requestEnded = true;
      if (gunzip === undefined || inflateEnded) complete();
      else gunzip.end();
    });
    // Not the request's 'close': that comes as soon as the body is read, before an inflate ends.
    res.once('close', () => {
      if (!answered) {
        counters.cancelled++;
        answered = true;
        gunzip?.destroy();
      }
      release();
    });
  }

  function respondOk(res: ServerResponse, encoding: BodyEncoding): void {
    // A client that gave up while its record was made durable gets nothing; the record stays.
    if (res.destroyed) return;
    const body = OK_BODY[encoding];
    res.writeHead(200, { 'content-type': CONTENT_TYPE[encoding], 'content-length': body.length });
    res.end(body);
  }

  return {
    counters,
    connections,

    listen: (target) => listenOn(server, target, log, 'otlp http'),

    address: () => server.address(),

    setSecureContext(secure: SecureContextOptions) {
      if (options.tls !== undefined) (server as HttpsServer).setSecureContext(secure);
    },

    close(graceMs) {
      closed ??= new Promise<void>((resolve) => {
        const cutoff = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        // Idle keep-alive connections close now; busy ones once their response is sent.
        server.close(() => {
          clearTimeout(cutoff);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

/**
 * node's http server timeouts from ours: headers must come within the idle timeout (they fit
 * in one packet), a kept-alive connection closes after it, and node may not check less
 * often than the limits need.
 */
function timeoutOptions(idleTimeoutMs: number | undefined, requestTimeoutMs: number | undefined): { headersTimeout?: number; requestTimeout?: number; keepAliveTimeout?: number; connectionsCheckingInterval?: number } {
  if (idleTimeoutMs === undefined || requestTimeoutMs === undefined) return {};
  const headersTimeout = Math.min(idleTimeoutMs, requestTimeoutMs);
  return {
    headersTimeout,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: idleTimeoutMs,
    connectionsCheckingInterval: Math.max(MIN_TIMEOUT_CHECK_MS, Math.floor(headersTimeout / 10)),
  };
}

/** The media type without parameters ("application/json; charset=utf-8" -> "application/json"). */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semicolon = header.indexOf(';');
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}

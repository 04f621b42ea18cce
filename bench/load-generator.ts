/**
 * The load generator, run as its own process so that its CPU is not the receiver's:
 *
 *   node dist/bench/load-generator.js --port P --batch B --connections C --inflight K --seconds D [--requests N] [--rate R]
 *
 * Sends one pre-encoded ExportLogsServiceRequest of B records over C raw node:http2
 * connections to 127.0.0.1, K requests in flight on each, until D seconds have passed since
 * the first request (or N requests were sent), at most R requests a second in all when --rate
 * is given (an offered load, for the spike scenario), waits for the answers in flight, and prints
 * one JSON line of counts on stdout. Raw http2 rather than grpc-js: the grpc-js client costs
 * more CPU per call than the receiver under test, and the generator shares the machine.
 *
 * A refusal (UNAVAILABLE: the engine's ring is full) is counted and the slot immediately
 * sends the next request: the number reported is what the receiver accepted under constant
 * offered load, not what a backing-off OTLP client would eventually get through.
 */
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { EXPORT_LOGS_PATH } from '../src/ingest/otlp-grpc-server';
import { buildPayload } from './payload';
import { GENERATOR_DRAIN_GRACE_MS } from './settings';

export interface GeneratorResult {
  requests_ok: number;
  requests_refused: number;
  requests_error: number;
  logs_ok: number;
  bytes_ok: number;
  elapsed_s: number;
  requests_sent: number;
  /** Error answers by grpc-status; "none" when the stream failed without a status. */
  errors_by_status: Record<string, number>;
  /** Refusals by grpc-message: UNAVAILABLE means a full ring or a worker's full in-flight budget. */
  refused_by_message: Record<string, number>;
  /** Requests still unanswered GENERATOR_DRAIN_GRACE_MS after the load stopped; also in requests_error. */
  requests_cut_off: number;
  /** Seconds from the first request to the first refusal, null when none: how long until a ring was full. */
  first_refusal_s: number | null;
  requests_ok_before_first_refusal: number;
  message_bytes: number;
  /** Wall clock, for the runner to relate to the engine's exit. */
  first_request_epoch_ms: number;
  last_answer_epoch_ms: number;
  /** This process's own CPU, to tell when the generator is what saturates. */
  cpu_s: number;
}

const STATUS_OK = '0';
const STATUS_UNAVAILABLE = '14';
const SESSION_GONE = Symbol('session gone');
const CONNECT_TIMEOUT_MS = 10_000;
// Node refuses new streams once a session buffers more than this (MB); K large requests in
// flight would pass the 10 MB default.
const MAX_SESSION_MEMORY_MB = 256;

const REQUEST_HEADERS = Object.freeze({
  ':method': 'POST',
  ':path': EXPORT_LOGS_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      batch: { type: 'string' },
      connections: { type: 'string' },
      inflight: { type: 'string' },
      seconds: { type: 'string' },
      requests: { type: 'string' },
      rate: { type: 'string' },
    },
  });
  const port = positive(values.port, 'port');
  const batch = positive(values.batch, 'batch');
  const connections = positive(values.connections, 'connections');
  const inflight = positive(values.inflight, 'inflight');
  const durationMs = positive(values.seconds, 'seconds') * 1000;
  const maxRequests = values.requests === undefined ? Infinity : positive(values.requests, 'requests');
  const gapMs = values.rate === undefined ? 0 : 1000 / positive(values.rate, 'rate');

  const payload = buildPayload(batch);
  const sessions = await Promise.all(Array.from({ length: connections }, () => open(port)));

  const counts = { ok: 0, refused: 0, error: 0, sent: 0, cutOff: 0 };
  let firstRefusal: { atMs: number; okBefore: number } | undefined;
  const errorsByStatus: Record<string, number> = {};
  const refusedByMessage: Record<string, number> = {};
  const cpuBefore = process.cpuUsage();
  const firstRequestEpochMs = Date.now();
  const started = performance.now();
  const deadline = started + durationMs;
  const loadOn = (): boolean => performance.now() < deadline && counts.sent < maxRequests;
  // Slots take turns on one schedule, so the offered rate holds whatever the answers' latency.
  let nextSendAt = started;
  const pace = async (): Promise<void> => {
    if (gapMs === 0) return;
    const at = nextSendAt;
    nextSendAt += gapMs;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
  };

  const countError = (status: string): void => {
    counts.error++;
    errorsByStatus[status] = (errorsByStatus[status] ?? 0) + 1;
  };
  const slot = async (session: ClientHttp2Session): Promise<void> => {
    // A dead connection ends its slots: spinning on instant failures would only burn CPU.
    while (loadOn() && !session.closed && !session.destroyed) {
      await pace();
      if (!loadOn()) return;
      counts.sent++;
      const answer = await exportOnce(session, payload.frame);
      if (answer === SESSION_GONE) return countError('none');
      if (answer.status === STATUS_OK) {
        counts.ok++;
      } else if (answer.status === STATUS_UNAVAILABLE) {
        firstRefusal ??= { atMs: performance.now() - started, okBefore: counts.ok };
        counts.refused++;
        const message = answer.message ?? '';
        refusedByMessage[message] = (refusedByMessage[message] ?? 0) + 1;
      } else {
        countError(answer.status ?? 'none');
      }
    }
  };
  const slots = Promise.all(sessions.flatMap((s) => Array.from({ length: inflight }, () => slot(s))));

  // Bounded: the load stops at the deadline; answers still missing a grace period later are
  // given up by destroying the connections, which fails their streams (counted as errors).
  const cutOff = setTimeout(() => {
    counts.cutOff = counts.sent - counts.ok - counts.refused - counts.error;
    for (const s of sessions) s.destroy();
  }, durationMs + GENERATOR_DRAIN_GRACE_MS);
  await slots;
  const elapsedMs = performance.now() - started;
  const lastAnswerEpochMs = Date.now();
  clearTimeout(cutOff);
  const cpu = process.cpuUsage(cpuBefore);
  for (const s of sessions) s.close();

  const result: GeneratorResult = {
    requests_ok: counts.ok,
    requests_refused: counts.refused,
    requests_error: counts.error,
    logs_ok: counts.ok * payload.records,
    bytes_ok: counts.ok * payload.messageBytes,
    elapsed_s: elapsedMs / 1000,
    requests_sent: counts.sent,
    errors_by_status: errorsByStatus,
    refused_by_message: refusedByMessage,
    requests_cut_off: counts.cutOff,
    first_refusal_s: firstRefusal === undefined ? null : firstRefusal.atMs / 1000,
    requests_ok_before_first_refusal: firstRefusal === undefined ? counts.ok : firstRefusal.okBefore,
    message_bytes: payload.messageBytes,
    first_request_epoch_ms: firstRequestEpochMs,
    last_answer_epoch_ms: lastAnswerEpochMs,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function open(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`, { maxSessionMemory: MAX_SESSION_MEMORY_MB });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no HTTP/2 connection to 127.0.0.1:${port} within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    session.once('connect', () => {
      clearTimeout(timer);
      resolve(session);
    });
    session.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // Errors after connecting surface on the streams, which count them.
    session.on('error', () => {});
  });
}

interface Answer {
  /** undefined when the stream failed without a status. */
  status: string | undefined;
  message: string | undefined;
}

/**
 * Resolves with the call's grpc-status and grpc-message, or SESSION_GONE when the
 * connection takes no new streams (closing, or GOAWAY received).
 */
function exportOnce(session: ClientHttp2Session, frame: Buffer): Promise<Answer | typeof SESSION_GONE> {
  return new Promise((resolve) => {
    const answer: Answer = { status: undefined, message: undefined };
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(REQUEST_HEADERS);
    } catch {
      return resolve(SESSION_GONE);
    }
    const read = (headers: IncomingHttpHeaders): void => {
      answer.status = headerValue(headers['grpc-status']) ?? answer.status;
      answer.message = headerValue(headers['grpc-message']) ?? answer.message;
    };
    // Trailers-Only answers (every refusal) carry the status in the response headers.
    stream.once('response', read);
    stream.once('trailers', read);
    stream.on('error', () => {});
    stream.once('close', () => resolve(answer));
    stream.resume();
    stream.end(frame);
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function positive(raw: string | undefined, name: string): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

main().catch((err: unknown) => {
  process.stderr.write(`load-generator: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

/**
 * Which downstream answers are worth retrying, and after how long. The status tables are
 * the OTLP specification's (protocol/exporter.md, "Retryable response codes"): gRPC
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are
 * retryable, RESOURCE_EXHAUSTED only when the server sent a RetryInfo (otherwise it means
 * "too large", which no retry fixes); HTTP 429, 502, 503 and 504. A delay the server asked
 * for (RetryInfo, Retry-After) is honoured instead of our own backoff.
 */
import type { ExportRetryConfig } from '../common/config';
import { RetryInfo, Status } from '../common/otlp-proto';

const GRPC_RETRYABLE = new Set([1, 4, 10, 11, 14, 15]);
const GRPC_RESOURCE_EXHAUSTED = 8;
const HTTP_RETRYABLE = new Set([429, 502, 503, 504]);

/** No server gets to park an exporter for longer than this with one answer. */
const MAX_SERVER_DELAY_MS = 10 * 60_000;

export function grpcRetryable(code: number, retryInfoMs: number | undefined): boolean {
  return GRPC_RETRYABLE.has(code) || (code === GRPC_RESOURCE_EXHAUSTED && retryInfoMs !== undefined);
}

export function httpRetryable(status: number): boolean {
  return HTTP_RETRYABLE.has(status);
}

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** The retry_delay of a google.rpc.RetryInfo inside a serialized google.rpc.Status, in ms. */
export function retryInfoDelayMs(statusDetails: Uint8Array | undefined): number | undefined {
  if (statusDetails === undefined) return undefined;
  try {
    const status = Status.decode(statusDetails) as unknown as { details: Array<{ type_url: string; value: Uint8Array }> };
    const detail = status.details.find((d) => d.type_url === RETRY_INFO_TYPE);
    if (detail === undefined) return undefined;
    const info = RetryInfo.decode(detail.value) as unknown as { retryDelay: { seconds: number | { toNumber(): number }; nanos: number } | null };
    if (info.retryDelay === null) return undefined;
    const seconds = typeof info.retryDelay.seconds === 'number' ? info.retryDelay.seconds : info.retryDelay.seconds.toNumber();
    return clampServerDelay(seconds * 1000 + info.retryDelay.nanos / 1e6);
  } catch {
    // A malformed trailer is the server's bug; our own backoff still applies.
    return undefined;
  }
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 section 10.2.3), in ms. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return clampServerDelay(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clampServerDelay(date - now);
}

function clampServerDelay(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_SERVER_DELAY_MS, Math.max(0, Math.round(ms)));
}

/**
 * Exponential backoff with full jitter: attempt n waits a random time up to
 * initial_ms * 2^n (capped at max_ms), so that exporters of many engines coming back after
 * an outage do not all retry in the same instant.
 */
export function backoffMs(retry: ExportRetryConfig, attempt: number, random = Math.random): number {
  const ceiling = Math.min(retry.max_ms, retry.initial_ms * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(ceiling * random()));
}

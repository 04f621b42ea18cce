/**
 * What the ingest receivers (OTLP/gRPC, OTLP/HTTP, lines) share: their interface and what
 * they tell a client refused for lack of room. They listen with common/listen-on.ts.
 */
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { ListenTarget } from '../common/listen-on';
import type { ConnectionCounters } from './connection-cap';

/**
 * The refusals for lack of room, the only retryable ones (gRPC UNAVAILABLE with RetryInfo,
 * HTTP 503/429 with Retry-After), with what every protocol tells the client. They come in
 * storms while a ring is full, so each server encodes its answers to them once.
 */
export const CAPACITY_MESSAGES = {
  ringFull: 'ingest is at capacity (ring full); retry later',
  overloaded: 'ingest holds its maximum of request bytes in flight (ingest.max_inflight_bytes); retry later',
} as const;
export type CapacityRefusal = keyof typeof CAPACITY_MESSAGES;

export function isCapacityRefusal(reason: string): reason is CapacityRefusal {
  return reason in CAPACITY_MESSAGES;
}

/**
 * What every receiver counts: plain numbers the request path bumps and a scrape copies (they
 * only ever grow). Refusals are by reason, camelCase (`ringFull` becomes the label `ring_full`).
 */
export interface ProtocolCounters<Reason extends string = string> {
  acceptedRequests: number;
  /** Message or body bytes as received (compressed when the client compressed). */
  acceptedBytes: number;
  refused: Record<Reason, number>;
  /** Requests that ended before an answer: the client reset or went away, or close() passed its grace. */
  cancelled: number;
  /**
   * Log records in accepted OTLP/JSON bodies, which the OTLP/HTTP body check scans whole;
   * absent where the receiver does not walk a request that deep (protobuf, lines).
   */
  acceptedJsonLogRecords?: number;
}

export interface Receiver<Counters> {
  /** Plain numbers, read by the metrics endpoint; they only ever grow. */
  readonly counters: Counters;
  /** Connections refused at the listener's cap. */
  readonly connections: ConnectionCounters;
  listen(target: ListenTarget): Promise<void>;
  /** Where it listens (the port chosen for port 0), as net.Server reports it. */
  address(): AddressInfo | string | null;
  /** New handshakes use this certificate and key (a reload); a plaintext receiver ignores it. */
  setSecureContext(secure: SecureContextOptions): void;
  /** Stops accepting, lets what is in flight finish within graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

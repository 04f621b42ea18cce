/**
 * What every exporter receives, and the contract between an exporter and the pipeline.
 */
import type { LogsRequest } from './record-decoder';

/** One ring batch, prepared once for every exporter. */
export interface ExportBatch {
  /** Serialized ExportLogsServiceRequests, enriched; views into the ring until it commits. */
  readonly requests: readonly Uint8Array[];
  /** LogRecords in each request. */
  readonly logRecords: readonly number[];
  /** The decoded requests, present when some exporter needs them (file, stdout). */
  readonly decoded: readonly LogsRequest[] | null;
  /** Where the records came from, for the dead-letter file (ring, vault segment). */
  readonly source: string;
}

export interface Exporter {
  /** For logs and metrics: `otlp_grpc[0]`, `file[1]`. */
  readonly name: string;
  /** Whether it needs ExportBatch.decoded. */
  readonly decodes: boolean;
  /**
   * Returns (or resolves) once the whole batch is delivered or dead-lettered. A throw means
   * nothing of it may be taken as delivered: the pipeline retries this exporter alone.
   * Rejects with the signal's reason when the signal aborts (shutdown).
   */
  export(batch: ExportBatch, signal: AbortSignal): void | Promise<void>;
  close(): void | Promise<void>;
}

/** Puts a request the downstream will never take into the dead-letter file. */
export type DeadLetterRequest = (request: Uint8Array, reason: string, error: unknown, source: string) => void;

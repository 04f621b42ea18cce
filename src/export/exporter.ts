/**
 * What every exporter receives, and the contract between an exporter and the pipeline.
 */
/**
 * One serialized ExportLogsServiceRequest, enriched, as pieces to be written one after the
 * other: views into the ring (valid until it commits) and the small headers the splice
 * made. Forwarding exporters copy the pieces straight into their own send buffer.
 */
export interface PreparedRequest {
  /** Empty for a lines record when no exporter forwards: nothing would read them. */
  readonly pieces: readonly Uint8Array[];
  readonly bytes: number;
  readonly logRecords: number;
}

/** One ring batch, prepared once for every exporter. */
export interface ExportBatch {
  readonly requests: readonly PreparedRequest[];
  /**
   * The requests as OTLP/JSON lines, each ending in a newline, present when some exporter
   * writes JSON (file, stdout): a view of a buffer the pipeline reuses, valid until the
   * batch's export resolves.
   */
  readonly json: Buffer | null;
  /** Where the records came from, for the dead-letter file (ring, vault segment). */
  readonly source: string;
}

/** The request as one buffer: a view when it is one piece, a copy otherwise. */
export function contiguous(request: PreparedRequest): Uint8Array {
  return request.pieces.length === 1 ? request.pieces[0] : Buffer.concat(request.pieces, request.bytes);
}

export interface Exporter {
  /** For logs and metrics: `otlp_grpc[0]`, `file[1]`. */
  readonly name: string;
  /** Whether it needs ExportBatch.json. */
  readonly writesJson: boolean;
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

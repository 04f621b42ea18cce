/**
 * What a record's payload is. Ingest never looks inside a payload; it only labels it so that
 * the process which finally decodes it (an exporter, or replay from the vault) knows how.
 * Values are stored in rings and in vault segments: never renumber them.
 */
export const RecordKind = {
  OtlpGrpc: 1,
  OtlpHttpProto: 2,
  OtlpHttpJson: 3,
  Lines: 4,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** Bit flags stored beside the kind. */
export const RecordFlag = {
  /** Payload is gzip-compressed exactly as the client sent it; the reader inflates it. */
  Gzip: 1,
} as const;

/**
 * Where ingest puts a request. Implemented by the ring writer; returns false when the
 * record does not fit, and the caller answers the client with a retryable refusal.
 * `chunks` are copied before the call returns, so the caller may reuse them.
 */
export interface RecordSink {
  offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number): boolean;
  /**
   * Called right after an offer that returned true. A promise means the client may be told
   * only once it settles (the record is on disk, under vault.sync: always); undefined means
   * the record is safe already.
   */
  whenDurable?(): Promise<void> | undefined;
}

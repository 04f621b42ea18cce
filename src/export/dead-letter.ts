/**
 * Where records that can never be exported go instead of blocking the ring: one JSON line
 * per record, with the payload bytes exactly as they were handed over, so an operator can
 * see why it was refused and replay it once the cause is fixed. Rotation bounds the disk a
 * stream of poison can take.
 */
import type { Config } from '../common/config';
import type { RecordKind } from '../common/record-kind';
import { exportCounts } from './export-metrics';
import { FileSink, type FileSinkOptions } from './file-sink';

export interface DeadLetterEntry {
  /** Short machine-friendly cause, e.g. 'undecodable'. */
  readonly reason: string;
  readonly error: unknown;
  readonly kind: RecordKind;
  /** RecordFlag bits: a Gzip payload is kept compressed, as the client sent it. */
  readonly flags: number;
  /** Where the record came from (ring, vault segment), for the operator. */
  readonly source: string;
  readonly payload: Uint8Array;
}

// Poison is rare; a burst of it must still not fill the disk: about 1.25 GiB at most.
const MAX_BYTES = 256 * 1024 * 1024;
const MAX_FILES = 4;

/** The engine's dead-letter file, where exporters and replay put what cannot be decoded. */
export function openDeadLetter(config: Config, path = config.export.dead_letter_path): DeadLetter {
  return new DeadLetter({ path, maxBytes: MAX_BYTES, maxFiles: MAX_FILES });
}

export class DeadLetter {
  /** Records written since this process started. */
  count = 0;
  private readonly sink: FileSink;

  constructor(options: FileSinkOptions) {
    this.sink = new FileSink(options);
  }

  /** Throws SinkIoError when the line cannot be written; the record is then not counted. */
  record({ reason, error, kind, flags, source, payload }: DeadLetterEntry): void {
    const line = JSON.stringify({
      time: new Date().toISOString(),
      reason,
      code: codeOf(error),
      message: error instanceof Error ? error.message : String(error),
      kind,
      flags,
      source,
      bytes: payload.byteLength,
      payload_base64: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
    });
    this.sink.write(`${line}\n`);
    this.count++;
    exportCounts.deadLetteredRequests++;
  }

  close(): void {
    this.sink.close();
  }
}

// Our GS_* codes, and Node's own (ENOSPC, ERR_…) for errors that were never wrapped.
function codeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

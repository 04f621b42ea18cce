/**
 * The export path shared by the exporter processes and vault replay: decode each record,
 * move poison to the dead-letter file (counted, never blocking the rest), and hand the
 * decoded batch to every configured exporter. Returns only when every exporter has it, so
 * the caller may then commit its ring or its replay cursor.
 */
import { extname } from 'node:path';
import type { Config } from '../common/config';
import { PoisonRecordError } from '../common/errors';
import type { Logger } from '../common/log';
import type { RingRecord } from '../common/ring';
import { openDeadLetter, type DeadLetter } from './dead-letter';
import { FileExporter } from './file-exporter';
import { decodeRecord, type LogsRequest } from './record-decoder';

function perInstance(path: string, instance: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${instance}${ext}`;
}

/** The largest inflated payload ingest accepts: gRPC messages and OTLP/HTTP bodies have their own limits. */
function largestPayload(config: Config): number {
  return Math.max(config.ingest.max_message_bytes, config.ingest.otlp_http.max_body_bytes);
}

export type ExportInput = Pick<RingRecord, 'kind' | 'flags' | 'receivedMs' | 'payload'>;

export class ExportPipeline {
  private readonly exporters: FileExporter[];
  private readonly deadLetter: DeadLetter;
  private readonly decoded: LogsRequest[] = [];

  /**
   * `instance` is the exporter process's index. With several exporter processes each writes
   * files of its own (`logs.jsonl` becomes `logs-1.jsonl` for exporter 1): appending
   * processes sharing one file would rotate it under each other and, when cutting back a
   * failed write, truncate away lines another had already committed.
   */
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    instance = 0,
  ) {
    const own = (path: string): string => (config.export.processes > 1 ? perInstance(path, instance) : path);
    this.exporters = config.exporters.map((e) => new FileExporter({ ...e, path: own(e.path) }));
    this.deadLetter = openDeadLetter(config, own(config.export.dead_letter_path));
  }

  get deadLettered(): number {
    return this.deadLetter.count;
  }

  /** `sourceOf` names a record for the dead-letter file (ring, or vault segment and seq). */
  export<R extends ExportInput>(records: readonly R[], sourceOf: (record: R) => string): void {
    const decoded = this.decoded;
    decoded.length = 0;
    for (const record of records) {
      try {
        decoded.push(decodeRecord(record, largestPayload(this.config)));
      } catch (err) {
        if (!(err instanceof PoisonRecordError)) throw err;
        const source = sourceOf(record);
        this.deadLetter.record({ reason: 'undecodable', error: err, kind: record.kind, flags: record.flags, source, payload: record.payload });
        this.log.warn('poison request moved to the dead-letter file', { source, err, deadLettered: this.deadLetter.count });
      }
    }
    try {
      for (const exporter of this.exporters) exporter.export(decoded);
    } finally {
      decoded.length = 0;
    }
  }

  close(): void {
    for (const exporter of this.exporters) exporter.close();
    this.deadLetter.close();
  }
}

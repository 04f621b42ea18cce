/**
 * The embedded default exporter: OTLP/JSON, one ExportLogsServiceRequest per line, in a
 * size-rotated file. Works with nothing else installed, which is what `npm start` needs.
 */
import type { FileExporterConfig } from '../common/config';
import { FileSink } from './file-sink';
import { LinesRequest } from './lines-decoder';
import { logsRequestToJson } from './otlp-json';
import type { LogsRequest } from './record-decoder';

const NEWLINE = Buffer.from('\n');

export class FileExporter {
  private readonly sink: FileSink;

  constructor(config: FileExporterConfig) {
    this.sink = new FileSink({ path: config.path, maxBytes: config.max_bytes, maxFiles: config.max_files });
  }

  /** Returns only once the lines are written: the caller commits the ring after this. */
  export(requests: readonly LogsRequest[]): void {
    if (requests.length === 0) return;
    // Lines write their JSON straight from the received bytes (lines-decoder).
    const parts: Buffer[] = [];
    for (const request of requests) {
      parts.push(request instanceof LinesRequest ? request.toJsonBytes() : Buffer.from(logsRequestToJson(request)), NEWLINE);
    }
    this.sink.write(Buffer.concat(parts));
  }

  close(): void {
    this.sink.close();
  }
}

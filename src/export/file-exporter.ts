/**
 * The embedded default exporter: OTLP/JSON, one ExportLogsServiceRequest per line, in a
 * size-rotated file. Works with nothing else installed, which is what `npm start` needs.
 */
import type { FileExporterConfig } from '../common/config';
import type { ExportBatch, Exporter } from './exporter';
import { FileSink } from './file-sink';

export class FileExporter implements Exporter {
  readonly writesJson = true;
  private readonly sink: FileSink;

  constructor(
    readonly name: string,
    config: FileExporterConfig,
  ) {
    this.sink = new FileSink({ path: config.path, maxBytes: config.max_bytes, maxFiles: config.max_files });
  }

  /** Returns only once the lines are written: the caller commits the ring after this. */
  export(batch: ExportBatch): void {
    this.sink.write(batch.json!);
  }

  close(): void {
    this.sink.close();
  }
}

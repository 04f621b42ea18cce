/**
 * OTLP/JSON lines on the exporter process's stdout (inherited from `gophership run`): for
 * looking at what flows through while debugging, not for production (a stdout nobody reads
 * blocks the exporter once the pipe is full, and the ring backs up behind it).
 */
import { writeSync } from 'node:fs';
import type { ExportBatch, Exporter } from './exporter';

const STDOUT = 1;

export class StdoutExporter implements Exporter {
  readonly writesJson = true;

  constructor(readonly name: string) {}

  export(batch: ExportBatch): void {
    const data = batch.json!;
    for (let written = 0; written < data.length; ) {
      try {
        written += writeSync(STDOUT, data, written);
      } catch (err) {
        // A non-blocking pipe that is full: wait for the reader rather than drop lines.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }

  close(): void {}
}

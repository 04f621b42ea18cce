/**
 * OTLP/JSON lines on the exporter process's stdout (inherited from `gophership run`): for
 * looking at what flows through while debugging, not for production (a stdout nobody reads
 * blocks the exporter once the pipe is full, and the ring backs up behind it).
 */
import { writeSync } from 'node:fs';
import type { ExportBatch, Exporter } from './exporter';
import { JsonBytes, writeJsonLines } from './json-bytes';

const STDOUT = 1;

export class StdoutExporter implements Exporter {
  readonly decodes = true;
  private readonly json = new JsonBytes();

  constructor(readonly name: string) {}

  export(batch: ExportBatch): void {
    if (batch.decoded!.length === 0) return;
    const data = writeJsonLines(batch.decoded!, this.json);
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

/**
 * An exporter process: drains the green rings assigned to it, decodes each request, and
 * hands the batch to every configured exporter. A ring's head moves only after every
 * exporter has the batch, so an exporter killed mid-batch is succeeded by one that starts
 * again at the first record not yet handled.
 */
import { runChild } from '../common/child-runtime';
import { PoisonRecordError } from '../common/errors';
import { listRings, ringPaths, ringsOfExporter } from '../common/ring-layout';
import type { RingRecord } from '../common/ring';
import { DeadLetter } from './dead-letter';
import { FileExporter } from './file-exporter';
import { decodeRecord, type LogsRequest } from './record-decoder';
import { RingDrain } from '../common/ring-drain';

const DEAD_LETTER_MAX_BYTES = 256 * 1024 * 1024;
const DEAD_LETTER_MAX_FILES = 4;
// A decoded request and its JSON line take about ten times its wire bytes: 1 MiB of requests
// per batch keeps the exporter's heap in the tens of MiB.
const BATCH_LIMITS = { records: 512, bytes: 1024 * 1024 };

runChild(async ({ index, config }, log) => {
  const rings = ringsOfExporter(listRings(config.rings.dir, 'green'), index, config.export.processes);
  const exporters = config.exporters.map((e) => new FileExporter(e));
  const deadLetter = new DeadLetter({ path: config.export.dead_letter_path, maxBytes: DEAD_LETTER_MAX_BYTES, maxFiles: DEAD_LETTER_MAX_FILES });
  const decoded: LogsRequest[] = [];

  const handle = (ring: number, batch: readonly RingRecord[]): void => {
    decoded.length = 0;
    for (const record of batch) {
      try {
        decoded.push(decodeRecord(record, config.ingest.max_message_bytes));
      } catch (err) {
        if (!(err instanceof PoisonRecordError)) throw err;
        deadLetter.record({ reason: 'undecodable', error: err, kind: record.kind, flags: record.flags, source: `green-${ring}`, payload: record.payload });
        log.warn('poison request moved to the dead-letter file', { ring, err, deadLettered: deadLetter.count });
      }
    }
    for (const exporter of exporters) exporter.export(decoded);
    decoded.length = 0;
  };

  const drain = new RingDrain(ringPaths(config.rings.dir, 'green', rings), handle, log, BATCH_LIMITS);
  drain.start();
  log.info('exporter draining', { rings, exporters: config.exporters.map((e) => `${e.type}:${e.path}`) });
  return {
    async close() {
      // Ingest is already stopped when the supervisor asks us to close: empty the rings.
      await drain.untilEmpty();
      drain.close();
      for (const exporter of exporters) exporter.close();
      deadLetter.close();
    },
  };
});

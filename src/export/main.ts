/**
 * An exporter process: drains the green rings assigned to it, prepares each request once
 * (inflate, enrich), and hands the batch to every configured exporter; with forwarding
 * exporters alone, export.read_ahead_batches batches of a ring are out at once. A ring's
 * head moves only over batches every exporter has (written, or acknowledged by its
 * downstream), in ring order, so an exporter killed mid-batch is succeeded by one that
 * starts again at the first record not yet handled.
 */
import { runChild, sendToSupervisor } from '../common/child-runtime';
import { GopherShipError } from '../common/errors';
import { REPLAY_RING, listRings, replayRingPath, ringPaths, ringsOfExporter } from '../common/ring-layout';
import type { RingRecord } from '../common/ring';
import { RingDrain, type BatchLimits } from '../common/ring-drain';
import type { Config } from '../common/config';
import { ZoneCell, zoneCellPath } from '../common/zone-cell';
import { DECODED_BATCH_BYTES } from '../common/memory-plan';
import { ExportPipeline } from './export-pipeline';

// A decoded request and its JSON line take several times its wire bytes: DECODED_BATCH_BYTES
// of requests per batch (counted by memory-plan.ts) keeps a decoding exporter's memory small.
// Forwarding exporters copy no more than the batch, so their own batch.max_bytes may take it higher.
const RECORDS_PER_BATCH = 512;
/** Of the shutdown grace, what waiting for downstreams may take before deliveries are cut off. */
const GRACE_FOR_DELIVERY = 0.8;

function batchLimits(config: Config): BatchLimits {
  let bytes = DECODED_BATCH_BYTES;
  let delayMs = Infinity;
  for (const e of config.exporters) {
    if (e.type !== 'otlp_grpc' && e.type !== 'otlp_http') continue;
    bytes = Math.max(bytes, e.batch.max_bytes);
    delayMs = Math.min(delayMs, e.batch.delay_ms);
  }
  return { records: RECORDS_PER_BATCH, bytes, delayMs: delayMs === Infinity ? 0 : delayMs, inFlight: config.export.read_ahead_batches };
}

runChild(async ({ index, config }, log) => {
  const rings = ringsOfExporter(listRings(config.rings.dir, 'green'), index, config.export.processes);
  const report = (where: string, err: unknown): void => {
    const code = err instanceof GopherShipError ? `${err.code}: ` : '';
    sendToSupervisor({ type: 'export-error', error: `${where}: ${code}${(err as Error).message}` });
  };
  const pipeline = new ExportPipeline(config, log, index, (source, exporter, err) => report(`${source} ${exporter}`, err));
  const handle = (ring: string, batch: readonly RingRecord[]): Promise<void> => pipeline.export(batch, () => ring, ring === REPLAY_RING ? 'replay' : 'green');
  const paths = ringPaths(config.rings.dir, 'green', rings);
  // Exporter 0 also takes what the vault replays.
  if (index === 0) paths.set(REPLAY_RING, replayRingPath(config.rings.dir));
  // In a Red zone caused by memory, taking more work would only grow this heap: the records
  // wait in the rings (already paid for) until the zone calms down (memory-relief.ts frees
  // what the heap holds meanwhile).
  const zone = new ZoneCell(zoneCellPath(config.rings.dir));
  const drain = new RingDrain(paths, handle, log, batchLimits(config), () => zone.memoryRed(), report);
  drain.start();
  log.info('exporter draining', { rings, exporters: config.exporters.map((e, i) => `${e.type}[${i}]`) });
  return {
    async close(graceMs) {
      // Ingest is already stopped when the supervisor asks us to close: empty the rings,
      // unless a downstream is away; what it has not acknowledged stays in the ring.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs * GRACE_FOR_DELIVERY)));
      await Promise.race([drain.untilIdle(), deadline]);
      clearTimeout(timer);
      drain.close();
      await pipeline.close();
    },
  };
});

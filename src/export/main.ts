/**
 * An exporter process: drains the green rings assigned to it, decodes each request, and
 * hands the batch to every configured exporter. A ring's head moves only after every
 * exporter has the batch, so an exporter killed mid-batch is succeeded by one that starts
 * again at the first record not yet handled.
 */
import { runChild, sendToSupervisor } from '../common/child-runtime';
import { GopherShipError } from '../common/errors';
import { REPLAY_RING, listRings, replayRingPath, ringPaths, ringsOfExporter } from '../common/ring-layout';
import type { RingRecord } from '../common/ring';
import { RingDrain } from '../common/ring-drain';
import { ExportPipeline } from './export-pipeline';

// A decoded request and its JSON line take about ten times its wire bytes: 1 MiB of requests
// per batch keeps the exporter's heap in the tens of MiB.
const BATCH_LIMITS = { records: 512, bytes: 1024 * 1024 };

runChild(async ({ index, config }, log) => {
  const rings = ringsOfExporter(listRings(config.rings.dir, 'green'), index, config.export.processes);
  const pipeline = new ExportPipeline(config, log, index);
  const handle = (ring: string, batch: readonly RingRecord[]): void => pipeline.export(batch, () => ring);
  const paths = ringPaths(config.rings.dir, 'green', rings);
  // Exporter 0 also takes what the vault replays.
  if (index === 0) paths.set(REPLAY_RING, replayRingPath(config.rings.dir));
  const drain = new RingDrain(paths, handle, log, BATCH_LIMITS, (ring, err) => {
    const code = err instanceof GopherShipError ? `${err.code}: ` : '';
    sendToSupervisor({ type: 'export-error', error: `${ring}: ${code}${(err as Error).message}` });
  });
  drain.start();
  log.info('exporter draining', { rings, exporters: config.exporters.map((e) => `${e.type}:${e.path}`) });
  return {
    async close() {
      // Ingest is already stopped when the supervisor asks us to close: empty the rings.
      await drain.untilIdle();
      drain.close();
      pipeline.close();
    },
  };
});

/**
 * Creates (or reopens) the shared-memory rings and their doorbells before any child is
 * forked, so that children only ever attach. Existing rings are kept as they are: they may
 * hold acknowledged records from a previous run that the exporters have not handled yet.
 */
import { existsSync } from 'node:fs';
import { makeDirs } from '../common/make-dirs';
import type { Config } from '../common/config';
import { doorbellPath } from '../common/doorbell';
import { mkfifo } from '../common/native';
import { openRing } from '../common/ring';
import { greenRingPath, listGreenRings } from '../common/ring-layout';
import type { Logger } from '../common/log';

export function setUpRings(config: Config, log: Logger): void {
  makeDirs(config.rings.dir, 0o700);
  for (let i = 0; i < config.ingest.workers; i++) {
    const path = greenRingPath(config.rings.dir, i);
    const ring = openRing(path, config.rings.green_bytes);
    if (ring.capacity !== config.rings.green_bytes) {
      log.warn('ring keeps its previous size until it is empty and removed', { ring: path, capacity: ring.capacity, configured: config.rings.green_bytes });
    }
    if (ring.used() > 0) log.info('ring holds records from a previous run; the exporters resume them', { ring: path, bytes: ring.used() });
  }
  for (const i of listGreenRings(config.rings.dir)) {
    const bell = doorbellPath(greenRingPath(config.rings.dir, i));
    if (!existsSync(bell)) mkfifo(bell, 0o600);
  }
}

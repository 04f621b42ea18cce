/**
 * Creates (or reopens) the shared-memory rings and their doorbells before any child is
 * forked, so that children only ever attach. Existing rings are kept as they are: they may
 * hold acknowledged records from a previous run that nobody has handled yet.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../common/config';
import { commitBellPath, doorbellPath } from '../common/doorbell';
import type { Logger } from '../common/log';
import { makeDirs } from '../common/make-dirs';
import { mkfifo } from '../common/native';
import { openRing } from '../common/ring';
import { listRings, replayRingPath, ringPath, type RingColor } from '../common/ring-layout';

export function setUpRings(config: Config, log: Logger): void {
  makeDirs(config.rings.dir, 0o700);
  const sizes: Record<RingColor, number> = { green: config.rings.green_bytes, red: config.rings.red_bytes };
  for (const color of ['green', 'red'] as const) {
    for (let i = 0; i < config.ingest.workers; i++) {
      const path = ringPath(config.rings.dir, color, i);
      const ring = openRing(path, sizes[color]);
      if (ring.capacity !== sizes[color]) {
        log.warn('ring holds records, so it keeps its previous size until a start finds it empty', { ring: path, capacity: ring.capacity, configured: sizes[color] });
      }
    }
    for (const i of listRings(config.rings.dir, color)) {
      const path = ringPath(config.rings.dir, color, i);
      const held = openRing(path, sizes[color]).used();
      if (held > 0) log.info('ring holds records from a previous run; they are resumed', { ring: path, bytes: held });
      makeBells(path);
    }
  }
  openRing(replayRingPath(config.rings.dir), config.rings.replay_bytes);
  makeBells(replayRingPath(config.rings.dir));
}

/** The reader's doorbell, and the commit bell for a writer awaiting commits (CommitWaiter). */
function makeBells(ring: string): void {
  for (const bell of [doorbellPath(ring), commitBellPath(ring)]) if (!existsSync(bell)) mkfifo(bell, 0o600);
}

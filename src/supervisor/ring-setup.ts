/**
 * Creates (or reopens) the shared-memory rings and their doorbells before any child is
 * forked, so that children only ever attach. Existing rings are kept as they are: they may
 * hold acknowledged records from a previous run that nobody has handled yet. The directory
 * is the engine's own (RingDir); every file in it is checked too (mapShared for rings and
 * the zone cell, checkBell for FIFOs): nothing behind a symlink, nothing of another uid.
 */
import { lstatSync } from 'node:fs';
import type { EngineConfig } from '../common/config';
import { commitBellPath, doorbellPath } from '../common/doorbell';
import { RingsUnsafeError, SyscallError } from '../common/errors';
import type { Logger } from '../common/log';
import { mkfifo } from '../common/native';
import { openRing } from '../common/ring';
import { ownUid } from '../common/ring-files';
import { listRings, replayRingPath, ringPath, type RingColor } from '../common/ring-layout';
import { ZoneCell, zoneCellPath } from '../common/zone-cell';

/** Returns the zone cell, made with the rings and checked like them. */
export function setUpRings(config: EngineConfig, log: Logger): ZoneCell {
  try {
    return makeRings(config, log);
  } catch (err) {
    // mapShared refuses a symlink (ELOOP) or a file not of the engine's own (EPERM).
    if (err instanceof SyscallError && (err.errno === 'ELOOP' || err.errno === 'EPERM')) {
      throw new RingsUnsafeError(`${err.message}${err.errno === 'ELOOP' ? ' (a symlink stands where a ring file goes)' : ''}; remove it while the engine is stopped`, err);
    }
    throw err;
  }
}

function makeRings(config: EngineConfig, log: Logger): ZoneCell {
  const dir = config.rings.dir;
  const sizes: Record<RingColor, number> = { green: config.rings.green_bytes, red: config.rings.red_bytes };
  for (const color of ['green', 'red'] as const) {
    for (let i = 0; i < config.ingest.workers; i++) {
      const path = ringPath(dir, color, i);
      const ring = openRing(path, sizes[color]);
      if (ring.capacity !== sizes[color]) {
        log.warn('ring holds records, so it keeps its previous size until a start finds it empty', { ring: path, capacity: ring.capacity, configured: sizes[color] });
      }
    }
    for (const i of listRings(dir, color)) {
      const path = ringPath(dir, color, i);
      const held = openRing(path, sizes[color]).used();
      if (held > 0) log.info('ring holds records from a previous run; they are resumed', { ring: path, bytes: held });
      makeBells(path);
    }
  }
  openRing(replayRingPath(dir), config.rings.replay_bytes);
  makeBells(replayRingPath(dir));
  return new ZoneCell(zoneCellPath(dir));
}

/** The reader's doorbell, and the commit bell for a writer awaiting commits (CommitWaiter). */
function makeBells(ring: string): void {
  for (const bell of [doorbellPath(ring), commitBellPath(ring)]) {
    // mkfifo never follows a symlink and fails on any existing name: new or checked, never both.
    try {
      mkfifo(bell, 0o600);
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === 'EEXIST')) throw err;
    }
    checkBell(bell);
  }
}

function checkBell(path: string): void {
  const st = lstatSync(path);
  if (st.isFIFO() && st.uid === ownUid() && (st.mode & 0o7777) === 0o600) return;
  throw new RingsUnsafeError(`${path} is not a FIFO of uid ${ownUid()} with mode 0600 (uid ${st.uid}, mode 0${(st.mode & 0o7777).toString(8)}); remove it while the engine is stopped`);
}

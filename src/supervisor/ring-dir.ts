/**
 * Where the rings live. The directory is the engine's own (its uid, mode 0700, locked while
 * the engine runs) or the start is refused: rings hold every record in clear, and a
 * directory made in advance by another user would let them read it.
 *
 * Without rings.dir the directory is /dev/shm/gophership-<uid>-<random>, made at a start
 * that finds none and recorded in <data_dir>/rings-dir, so that the next start (after a
 * crash, say) finds the rings and resumes them, and no other user can guess the name to make
 * it first. A clean stop removes the rings that hold nothing unacknowledged and the
 * directory once empty; the next start makes a new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../common/config';
import type { Logger } from '../common/log';
import { makeDirs } from '../common/make-dirs';
import { EngineRunningError } from '../common/pid-file';
import { checkPrivateDir, lockRingDir, makePrivateDir, ownUid, removeIdleRings } from '../common/ring-files';

const SHM = '/dev/shm';
const RECORD_FILE = 'rings-dir';
const PRIVATE_NAME = /^\/dev\/shm\/gophership-\d+-[0-9a-f]{12}(?:[0-9a-f]{12})?$/;

export class RingDir {
  private constructor(
    readonly path: string,
    private lockFd: number | null,
  ) {}

  /** Called with data_dir's pid file held, so no other engine of this data_dir races here. */
  static open(config: Config, log: Logger): RingDir {
    let path = config.rings.dir;
    if (path === null) {
      path = privateDir(config.data_dir, log);
    } else {
      makeDirs(dirname(path), 0o700);
      makePrivateDir(path);
    }
    const lockFd = lockRingDir(path);
    if (lockFd === null) throw new EngineRunningError(`another GopherShip uses the rings in ${path}; give each engine its own rings.dir`);
    return new RingDir(path, lockFd);
  }

  /**
   * After every child has exited: rings that hold nothing unacknowledged go, and the
   * directory with them when none is left, so that a stopped engine leaves no RAM behind.
   */
  close(log: Logger): void {
    if (this.lockFd === null) return;
    try {
      const kept = removeIdleRings(this.path);
      if (kept > 0) log.info('rings hold unacknowledged records; they stay for the next start', { dir: this.path, bytes: kept });
    } catch (err) {
      log.warn('could not remove the rings', { dir: this.path, err });
    }
    closeSync(this.lockFd);
    this.lockFd = null;
  }
}

function privateDir(dataDir: string, log: Logger): string {
  const record = join(dataDir, RECORD_FILE);
  const recorded = readRecord(record, log);
  if (recorded !== null && exists(recorded)) {
    checkPrivateDir(recorded);
    return recorded;
  }
  // Rings of a version that named the directory after data_dir may hold records of a crash:
  // resumed when the directory is the engine's own, ignored (never used) when it is not.
  const earlier = `${SHM}/gophership-${ownUid()}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
  let path = `${SHM}/gophership-${ownUid()}-${randomBytes(12).toString('hex')}`;
  if (exists(earlier) && isPrivate(earlier)) {
    log.info('resuming the rings of an earlier version', { dir: earlier });
    path = earlier;
  } else {
    makePrivateDir(path);
  }
  writeRecord(record, path);
  return path;
}

function readRecord(record: string, log: Logger): string | null {
  let text: string;
  try {
    const fd = openSync(record, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (PRIVATE_NAME.test(text)) return text;
  log.warn('ignoring a ring directory record that names no private ring directory', { record, text: text.slice(0, 200) });
  return null;
}

/** Written aside and renamed, so a crash never leaves half a path. */
function writeRecord(record: string, path: string): void {
  const aside = `${record}.${process.pid}`;
  rmSync(aside, { force: true });
  writeFileSync(aside, `${path}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(aside, record);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function isPrivate(path: string): boolean {
  try {
    checkPrivateDir(path);
    return true;
  } catch {
    return false;
  }
}

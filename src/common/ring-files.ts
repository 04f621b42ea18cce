/**
 * A ring directory seen from outside its rings: is it the engine's own, does a process hold
 * it, what do its rings still hold, and removing what holds nothing. The supervisor uses it
 * to make its directory and to clean up after a clean stop; `gs-ctl rings` to find and prune
 * directories that no engine uses any more (tmpfs pages are RAM until someone unlinks them).
 */
import { chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { commitBellPath, doorbellPath } from './doorbell';
import { RingsUnsafeError } from './errors';
import { tryLockExclusive } from './native';
import { heldBytes } from './ring';
import { zoneCellPath } from './zone-cell';

/** Locked (flock) by the supervisor that uses the directory, for as long as it runs. */
const LOCK_FILE = 'lock';

export function ownUid(): number {
  return process.geteuid?.() ?? 0;
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/**
 * Throws GS_RINGS_UNSAFE unless `path` is a directory (not a symlink) of this uid with mode
 * 0700: a directory another user made or may enter could hand them every record.
 */
export function checkPrivateDir(path: string): void {
  const st = lstatSync(path);
  const mode = st.mode & 0o7777;
  if (st.isDirectory() && st.uid === ownUid() && mode === 0o700) return;
  const kind = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : 'not a directory';
  throw new RingsUnsafeError(
    `ring directory ${path} is ${kind} owned by uid ${st.uid} with mode ${octal(mode)}; the engine (uid ${ownUid()}) keeps its rings only in a directory of its own with mode 0700: remove ${path}, or set rings.dir to a path of the engine's own`,
  );
}

/** Makes the directory (parent must exist), or accepts an existing one that passes checkPrivateDir. */
export function makePrivateDir(path: string): void {
  try {
    mkdirSync(path, 0o700);
    // The umask may have taken bits; nobody else can have touched a directory just made.
    chmodSync(path, 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  checkPrivateDir(path);
}

/**
 * Locks the directory for the life of the calling process (the kernel drops an flock when
 * its holder dies). Returns the lock's fd, or null when another process holds it.
 */
export function lockRingDir(dir: string): number | null {
  const path = join(dir, LOCK_FILE);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const st = fstatSync(fd);
  if (!st.isFile() || st.uid !== ownUid()) {
    closeSync(fd);
    throw new RingsUnsafeError(`${path} is not a file of uid ${ownUid()} (uid ${st.uid}, mode ${octal(st.mode)}); remove it`);
  }
  fchmodSync(fd, 0o600);
  if (tryLockExclusive(fd)) return fd;
  closeSync(fd);
  return null;
}

/**
 * Whether a running engine uses the directory: it holds the lock, or (an engine of a version
 * before the lock) some process maps a file in it. Looks only; creates nothing.
 */
export function ringDirInUse(dir: string): boolean {
  let fd: number;
  try {
    fd = openSync(join(dir, LOCK_FILE), constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return mappedByAnyProcess(dir);
  }
  try {
    return !tryLockExclusive(fd) || mappedByAnyProcess(dir);
  } finally {
    // Closing the only descriptor that holds the lock drops it again.
    closeSync(fd);
  }
}

function mappedByAnyProcess(dir: string): boolean {
  const needle = ` ${dir}/`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/maps`, 'utf8').includes(needle)) return true;
    } catch {
      // Gone meanwhile, or another user's process: its maps cannot hold our 0700 directory.
    }
  }
  return false;
}

export interface RingDirUsage {
  /** Bytes of the files in the directory (tmpfs: RAM). */
  bytes: number;
  /** Bytes the rings hold that no reader acknowledged: records lost if the directory goes. */
  held: number;
}

export function ringDirUsage(dir: string): RingDirUsage {
  let bytes = 0;
  let held = 0;
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    if (st.isFile()) bytes += st.size;
    if (st.isFile() && name.endsWith('.ring')) held += heldBytes(join(dir, name));
  }
  return { bytes, held };
}

/**
 * Removes every ring that holds nothing unacknowledged (all of them with `force`) with its
 * doorbells, then, when no ring is left, the zone cell, the lock and the directory. The
 * caller holds the lock and no process writes the rings. Returns the bytes kept in rings.
 */
export function removeIdleRings(dir: string, force = false): number {
  let kept = 0;
  let ringsLeft = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.ring')) continue;
    const ring = join(dir, name);
    const held = heldBytes(ring);
    if (held > 0 && !force) {
      kept += held;
      ringsLeft++;
      continue;
    }
    for (const path of [doorbellPath(ring), commitBellPath(ring), ring]) removeIfThere(path);
  }
  if (ringsLeft > 0) return kept;
  removeIfThere(zoneCellPath(dir));
  removeIfThere(join(dir, LOCK_FILE));
  try {
    rmdirSync(dir);
  } catch (err) {
    // Something else in it (a new engine's lock, a file someone put there): it stays.
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
  }
  return 0;
}

function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

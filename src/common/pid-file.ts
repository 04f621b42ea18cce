/**
 * One engine per data_dir: two supervisors sharing rings would break the single-producer,
 * single-consumer rule and lose records. The guard is an flock on the pid file, held for
 * the life of the process: the kernel drops it when the holder dies, so a crashed engine
 * leaves no stale lock, and two starters racing over a leftover file cannot both win. The
 * pid inside is for people and for `gs-ctl replay --online`.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { GopherShipError } from './errors';
import { tryLockExclusive } from './native';

export class EngineRunningError extends GopherShipError {
  constructor(message: string) {
    super('GS_ENGINE_RUNNING', message);
  }
}

export class PidFile {
  private constructor(private fd: number | null) {}

  static acquire(path: string): PidFile {
    const fd = openSync(path, 'a+', 0o600);
    if (!tryLockExclusive(fd)) {
      closeSync(fd);
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      throw new EngineRunningError(`another GopherShip (pid ${Number.isInteger(owner) ? owner : 'unknown'}) runs with this data_dir (${path}); stop it or choose another data_dir`);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`);
    return new PidFile(fd);
  }

  /**
   * Drops the lock. The file stays: unlinking it would let a starter that opened the old
   * file lock it while another locks a new one at the same path.
   */
  release(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * One engine per data_dir: two supervisors sharing rings would break the single-producer,
 * single-consumer rule and lose records. A pid file left by a dead engine is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { GopherShipError } from './errors';

export class EngineRunningError extends GopherShipError {
  constructor(message: string) {
    super('GS_ENGINE_RUNNING', message);
  }
}

export class PidFile {
  private constructor(private readonly path: string) {}

  static acquire(path: string): PidFile {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new PidFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new EngineRunningError(`another GopherShip (pid ${owner}) runs with this data_dir (${path}); stop it or choose another data_dir`);
      }
      unlinkSync(path);
    }
    throw new EngineRunningError(`cannot take the pid file ${path}`);
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

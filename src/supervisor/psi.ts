/**
 * Pressure stall information for memory: the share of recent time in which some (or all)
 * tasks waited for memory. avg10 trails by seconds, so the monitor also arms a kernel
 * trigger, which wakes it as soon as stalls pass a threshold within a window.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { watchPriority } from '../common/native';
import { StatFile } from '../common/stat-file';

export interface PsiReading {
  some: number;
  full: number;
}

export function parsePsi(text: string): PsiReading {
  return { some: avg10(text, 'some'), full: avg10(text, 'full') };
}

function avg10(text: string, line: string): number {
  const m = new RegExp(`^${line} avg10=([0-9.]+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]) / 100;
}

export class PsiFile {
  private readonly file: StatFile;

  constructor(readonly path: string) {
    this.file = new StatFile(path, 1024);
  }

  read(): PsiReading {
    return parsePsi(this.file.text());
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Arms a PSI trigger ("some 200000 2000000": 200 ms of stall within 2 s) and calls `onFire`
 * each time the kernel signals it. Returns the disarm function. Throws what the kernel
 * says when it refuses the trigger (old kernels, windows it does not accept).
 */
export function armPsiTrigger(path: string, trigger: string, onFire: () => void): () => void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, `${trigger}\0`);
    const stop = watchPriority(fd, onFire);
    return () => {
      stop();
      closeSync(fd);
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

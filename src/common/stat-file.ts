/**
 * A kernel statistics file (cgroup, /proc) read again and again through one open fd and one
 * buffer: the pressure monitor reads several of them every few milliseconds.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export class StatFile {
  private readonly fd: number;
  private readonly buf: Buffer;

  constructor(
    readonly path: string,
    maxBytes = 16384,
  ) {
    this.fd = openSync(path, 'r');
    this.buf = Buffer.allocUnsafe(maxBytes);
  }

  /** The whole file as it is now (kernel stat files regenerate on a read at offset 0). */
  text(): string {
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('latin1', 0, n);
  }

  /** A file holding one integer, or `max` (no limit) which reads as Infinity. */
  number(): number {
    const t = this.text().trim();
    return t === 'max' ? Infinity : Number(t);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The number after `label` at the start of a line: `label` carries its delimiter, e.g.
 * "inactive_file " in memory.stat or "MemAvailable:" in /proc/meminfo (kB there).
 */
export function statValue(text: string, label: string): number | undefined {
  const at = text.startsWith(label) ? 0 : text.indexOf(`\n${label}`) + 1;
  if (at === 0 && !text.startsWith(label)) return undefined;
  const value = Number.parseInt(text.slice(at + label.length, at + label.length + 32).trimStart(), 10);
  return Number.isNaN(value) ? undefined : value;
}

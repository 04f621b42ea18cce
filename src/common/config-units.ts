/**
 * The written forms a configuration value may take besides a plain number: sizes with units
 * (`64MiB`, `512Ki`, `1G`, as Kubernetes writes a quantity), durations (`250ms`, `30s`, `2m`),
 * and the nearest known key for a misspelt one. Pure functions: the schema
 * (config-schema.ts) and the environment probing (config.ts) both use them.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, m: 1e6, g: 1e9, ki: KiB, mi: MiB, gi: GiB, kib: KiB, mib: MiB, gib: GiB, kb: 1e3, mb: 1e6, gb: 1e9 };

/** Bytes from a number or a string with a unit; undefined when it is neither (the caller names the key). */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  // "1.5Ki" is a whole number of bytes; "1.3Ki" is not, and is refused rather than rounded.
  return Number.isInteger(bytes) ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a number (milliseconds already) or a string with a unit; undefined otherwise. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (m === null) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms'];
  return Number.isInteger(ms) ? ms : undefined;
}

/** The shortest exact written form of a byte count: `64MiB`, `512KiB`, or the number. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}

/** The shortest exact written form of milliseconds: `2m`, `30s`, `250ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, n] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

/** The known key closest to `key` by edit distance, if close enough to be a likely typo. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

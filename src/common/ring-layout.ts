/**
 * Which ring files exist and who reads them. Every ingest worker i writes two rings: green
 * ring i (to the exporters) and red ring i (to the vault), each with a single producer. Green
 * ring i is read by exporter i mod M; every red ring is read by the one vault process. Rings
 * left over from a run with more workers are still drained: they may hold acknowledged
 * records.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export type RingColor = 'green' | 'red';

const RING_FILE = /^(green|red)-(\d+)\.ring$/;

export function ringPath(dir: string, color: RingColor, worker: number): string {
  return join(dir, `${color}-${worker}.ring`);
}

/** Indices of the rings of one color present in dir, in order. */
export function listRings(dir: string, color: RingColor): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    const m = RING_FILE.exec(name);
    if (m && m[1] === color) found.push(Number(m[2]));
  }
  return found.sort((a, b) => a - b);
}

export function ringsOfExporter(rings: readonly number[], exporter: number, exporters: number): number[] {
  return rings.filter((i) => i % exporters === exporter);
}

/** The rings a drain reads, by name (green-0, red-1, …). */
export function ringPaths(dir: string, color: RingColor, indices: readonly number[]): Map<string, string> {
  return new Map(indices.map((i) => [`${color}-${i}`, ringPath(dir, color, i)]));
}

/**
 * The replay ring: written by the vault while it replays, read by exporter 0, so replayed
 * records take the same export path as live ones.
 */
export const REPLAY_RING = 'replay';

export function replayRingPath(dir: string): string {
  return join(dir, 'replay.ring');
}

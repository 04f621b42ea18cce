/**
 * Which ring files exist and who reads them. Ring i is written by ingest worker i only
 * (single producer) and read by exporter i mod M only (single consumer). Rings left over
 * from a run with more workers are still drained: they may hold acknowledged records.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const GREEN = /^green-(\d+)\.ring$/;

export function greenRingPath(dir: string, worker: number): string {
  return join(dir, `green-${worker}.ring`);
}

/** Indices of the green rings present in dir, in order. */
export function listGreenRings(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    const m = GREEN.exec(name);
    if (m) found.push(Number(m[1]));
  }
  return found.sort((a, b) => a - b);
}

export function ringsOfExporter(rings: readonly number[], exporter: number, exporters: number): number[] {
  return rings.filter((i) => i % exporters === exporter);
}

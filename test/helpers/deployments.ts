/** Reads the files in deployments/ the way the tests check them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from './engine';

export const DEPLOYMENTS = join(ROOT, 'deployments');

/**
 * Keys the lead adds with the pressure zones (issue 4); the sample configurations use them
 * already. Until config.ts knows them, configurations are validated without them: empty this
 * list once they are merged.
 */
export const PENDING_LEAD_KEYS: ReadonlyArray<readonly [string, string]> = [];

// Manifests are walked by key; their shape is what the schema tests check.
export type Raw = Record<string, any>;

export function readYaml(file: string): Raw {
  return parse(readFileSync(join(DEPLOYMENTS, file), 'utf8')) as Raw;
}

export function readManifests(file: string): Raw[] {
  return parseAllDocuments(readFileSync(join(DEPLOYMENTS, file), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as Raw;
  });
}

/** The raw configuration with the keys config.ts does not know yet taken out. */
export function withoutPendingKeys(raw: Raw): Raw {
  const copy = structuredClone(raw);
  for (const [section, key] of PENDING_LEAD_KEYS) {
    if (copy[section] === undefined) continue;
    delete copy[section][key];
    if (Object.keys(copy[section]).length === 0) delete copy[section];
  }
  return copy;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3, M: 1e6, G: 1e9,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30,
};

/** A Kubernetes quantity of bytes ("384Mi", "2Gi"). */
export function k8sBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (m === null) throw new Error(`not a byte quantity: ${q}`);
  return Number(m[1]) * UNITS[m[2] ?? ''];
}

/** systemd and Compose sizes ("1536M", "256m"): K, M, G are powers of 1024 in both. */
export function binaryBytes(size: string): number {
  const m = /^(\d+)([kmgKMG])?$/.exec(size);
  if (m === null) throw new Error(`not a size: ${size}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] ?? ' ').toLowerCase());
}

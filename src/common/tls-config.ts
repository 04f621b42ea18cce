/**
 * The `tls` section any listener may carry (ingest listeners, the control plane):
 *
 *   tls: { cert, key, ca, client_auth: require | request | none, min_version: "1.3" | "1.2" }
 *
 * Parsed here once so that every listener section validates it alike. Files are checked for
 * readability at load, so a typo fails `check-config` rather than the first handshake.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, describe } from './errors';

export type ClientAuth = 'require' | 'request' | 'none';
export type TlsMinVersion = '1.3' | '1.2';

export interface TlsConfig {
  cert: string;
  key: string;
  /** CA bundle that client certificates are verified against; required unless client_auth is none. */
  ca: string | null;
  client_auth: ClientAuth;
  min_version: TlsMinVersion;
}

const KEYS = ['cert', 'key', 'ca', 'client_auth', 'min_version'];
/** The control plane: a client certificate always, TLS 1.3 only. */
const MUTUAL_ONLY_KEYS = ['cert', 'key', 'ca'];

export interface TlsRules {
  /** Client certificates required and TLS 1.3 only: the keys that could relax that are refused. */
  mutualOnly?: boolean;
}

export function parseTlsConfig(raw: unknown, path: string, rules: TlsRules = {}): TlsConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`Expected a mapping for ${path} but received ${describe(raw)}`);
  const allowed = rules.mutualOnly === true ? MUTUAL_ONLY_KEYS : KEYS;
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ConfigError(`unknown key ${path}.${key} (allowed here: ${allowed.join(', ')})`);
  }
  const ca = obj.ca === undefined || obj.ca === null ? null : readableFile(obj.ca, `${path}.ca`);
  const clientAuth = rules.mutualOnly === true ? 'require' : choice(obj.client_auth, `${path}.client_auth`, ['require', 'request', 'none'] as const, ca === null ? 'none' : 'require');
  if (clientAuth !== 'none' && ca === null) {
    throw new ConfigError(`${path}.client_auth is ${clientAuth} but ${path}.ca is not set: name the CA bundle that client certificates are verified against`);
  }
  // YAML reads 1.3 as a number; both spellings mean the same.
  const minVersion = choice(typeof obj.min_version === 'number' ? String(obj.min_version) : obj.min_version, `${path}.min_version`, ['1.3', '1.2'] as const, '1.3');
  return { cert: readableFile(obj.cert, `${path}.cert`), key: readableFile(obj.key, `${path}.key`), ca, client_auth: clientAuth, min_version: minVersion };
}

function readableFile(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`Expected a file path for ${path} but received ${describe(value)}`);
  const file = resolve(value);
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new ConfigError(`cannot read ${path} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return file;
}

function choice<T extends string>(value: unknown, path: string, allowed: readonly T[], dflt: T): T {
  if (value === undefined || value === null) return dflt;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new ConfigError(`Expected one of ${allowed.join(', ')} for ${path} but received ${describe(value)}`);
  return value as T;
}

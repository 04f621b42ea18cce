/**
 * The `tls` section any listener may carry (ingest listeners, the control plane):
 *
 *   tls: { cert, key, ca, client_auth: require | request | none, min_version: "1.3" | "1.2" }
 *
 * Its keys and values are checked by the schema (config-schema.ts); here the files are checked
 * for readability at load, so a typo fails `check-config` rather than the first handshake.
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

/** A TLS section as the schema (config-schema.ts) reads it: keys and spellings already checked. */
export interface TlsSection {
  cert?: string;
  key?: string;
  ca?: string;
  client_auth?: ClientAuth;
  min_version?: TlsMinVersion;
}

export interface TlsRules {
  /** Client certificates required and TLS 1.3 only (the schema of that section has no keys to relax it). */
  mutualOnly?: boolean;
}

/** The section with its files checked for readability and made absolute, and the client_auth default. */
export function parseTlsConfig(section: TlsSection, path: string, rules: TlsRules = {}): TlsConfig {
  const ca = section.ca === undefined ? null : readableFile(section.ca, `${path}.ca`);
  const clientAuth = rules.mutualOnly === true ? 'require' : (section.client_auth ?? (ca === null ? 'none' : 'require'));
  if (clientAuth !== 'none' && ca === null) {
    throw new ConfigError(`${path}.client_auth is ${clientAuth} but ${path}.ca is not set: name the CA bundle that client certificates are verified against`);
  }
  return { cert: readableFile(section.cert, `${path}.cert`), key: readableFile(section.key, `${path}.key`), ca, client_auth: clientAuth, min_version: rules.mutualOnly === true ? '1.3' : (section.min_version ?? '1.3') };
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

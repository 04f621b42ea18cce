/** The files of an exporter's `tls` section, read once at start. */
import { readFileSync } from 'node:fs';
import type { ExportTlsConfig } from '../common/config';
import { ConfigError } from '../common/errors';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function readTlsFiles(tls: ExportTlsConfig, exporter: string): TlsMaterial {
  const read = (path: string | null): Buffer | undefined => {
    if (path === null) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${exporter}: cannot read TLS file ${path}: ${(err as Error).message}`);
    }
  };
  return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
}

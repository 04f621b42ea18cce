/**
 * The one configuration file. Loaded and validated once in the supervisor; children get the
 * resolved object, so every process agrees on every value. Unknown keys are errors: a typo in
 * a memory bound must not silently fall back to a default.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, describe } from './errors';

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface FileExporterConfig {
  type: 'file';
  path: string;
  max_bytes: number;
  max_files: number;
}

export type ExporterConfig = FileExporterConfig;

export interface Config {
  data_dir: string;
  log_level: 'debug' | 'info' | 'warn' | 'error';
  ingest: {
    workers: number;
    max_message_bytes: number;
    max_inflight_bytes: number;
    otlp_grpc: {
      listen: ListenAddress[];
      max_concurrent_streams: number;
      window_bytes: number;
    };
    otlp_http: {
      listen: ListenAddress[];
      /** Counted after decompression; the wire bytes of a compressed body are held to it too. */
      max_body_bytes: number;
    };
    lines: {
      listen: ListenAddress[];
      max_line_bytes: number;
      /** What happens to a line longer than max_line_bytes. */
      long_lines: 'split' | 'truncate';
    };
  };
  rings: {
    dir: string;
    green_bytes: number;
    red_bytes: number;
  };
  vault: {
    dir: string;
    segment_bytes: number;
    max_bytes: number;
    sync: 'always' | 'interval' | 'never';
    sync_interval_ms: number;
    replay_records_per_second: number;
  };
  zones: {
    /** Until the pressure monitor exists: `red` sends every request to the vault. */
    force: 'green' | 'red';
  };
  export: {
    processes: number;
    dead_letter_path: string;
  };
  exporters: ExporterConfig[];
  supervisor: {
    restart_backoff_min_ms: number;
    restart_backoff_max_ms: number;
    crash_loop_restarts: number;
    crash_loop_window_ms: number;
    shutdown_timeout_ms: number;
  };
}

const MiB = 1024 * 1024;
/**
 * A lines record holds at most one pending partial line (max_line_bytes) plus one socket
 * read (64 KiB in Node) plus its small header; see src/ingest/lines-framer.ts.
 */
export const LINES_RECORD_SLACK_BYTES = 128 * 1024;
/** A ring record's header and alignment, rounded up. */
const RECORD_FRAMING_BYTES = 64;

type Raw = Record<string, unknown>;

/** Reads, parses and validates; `path` undefined means the embedded defaults. */
export function loadConfig(path?: string): Config {
  if (path === undefined) return validateConfig({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return validateConfig(raw ?? {});
}

export function validateConfig(raw: unknown): Config {
  const root = section(raw, '', ['data_dir', 'log_level', 'ingest', 'rings', 'vault', 'zones', 'export', 'exporters', 'supervisor']);
  const dataDir = resolve(str(root, 'data_dir', '', './var'));
  const logLevel = oneOf(root, 'log_level', '', ['debug', 'info', 'warn', 'error'] as const, 'info');

  const ingestRaw = section(root.ingest, 'ingest', ['workers', 'max_message_bytes', 'max_inflight_bytes', 'otlp_grpc', 'otlp_http', 'lines']);
  const grpcRaw = section(ingestRaw.otlp_grpc, 'ingest.otlp_grpc', ['listen', 'max_concurrent_streams', 'window_bytes']);
  const listenRaw = grpcRaw.listen ?? ['127.0.0.1:4317', `unix:${dataDir}/otlp-grpc.sock`];
  if (!Array.isArray(listenRaw)) throw bad('a list of "host:port" or "unix:PATH"', 'ingest.otlp_grpc.listen', listenRaw);
  const listen = listenRaw.map((entry, i) => parseListen(entry, `ingest.otlp_grpc.listen[${i}]`));
  const httpRaw = section(ingestRaw.otlp_http, 'ingest.otlp_http', ['listen', 'max_body_bytes']);
  const linesRaw = section(ingestRaw.lines, 'ingest.lines', ['listen', 'max_line_bytes', 'long_lines']);

  const workers = int(ingestRaw, 'workers', 'ingest', 0, 0, 256);
  const maxMessage = int(ingestRaw, 'max_message_bytes', 'ingest', 16 * MiB, 1024, 1024 * MiB);
  const maxInflight = int(ingestRaw, 'max_inflight_bytes', 'ingest', 64 * MiB, 1024, 16 * 1024 * MiB);
  if (maxInflight < maxMessage) {
    throw new ConfigError(`ingest.max_inflight_bytes (${maxInflight}) must be at least ingest.max_message_bytes (${maxMessage}), or the largest request could never be received`);
  }

  const ringsRaw = section(root.rings, 'rings', ['dir', 'green_bytes', 'red_bytes']);
  const greenBytes = ringBytes(ringsRaw, 'green_bytes');
  const redBytes = ringBytes(ringsRaw, 'red_bytes');
  // The receivers' defaults shrink to what the smaller ring holds, so that a config sized
  // for gRPC alone stays valid; values set explicitly must fit.
  const ringRoom = Math.min(greenBytes, redBytes) / 2 - RECORD_FRAMING_BYTES;
  const maxBody = int(httpRaw, 'max_body_bytes', 'ingest.otlp_http', Math.max(1024, Math.min(20 * MiB, ringRoom)), 1024, 1024 * MiB);
  const maxLine = int(linesRaw, 'max_line_bytes', 'ingest.lines', Math.max(16, Math.min(64 * 1024, ringRoom - LINES_RECORD_SLACK_BYTES)), 16, 64 * MiB);
  const largestRecord = Math.max(maxMessage, maxBody, maxLine + LINES_RECORD_SLACK_BYTES);
  for (const [key, bytes] of [['green_bytes', greenBytes], ['red_bytes', redBytes]] as const) checkRingFits(key, bytes, largestRecord);

  const vaultRaw = section(root.vault, 'vault', ['dir', 'segment_bytes', 'max_bytes', 'sync', 'sync_interval_ms', 'replay_records_per_second']);
  const zonesRaw = section(root.zones, 'zones', ['force']);

  const exportRaw = section(root.export, 'export', ['processes', 'dead_letter_path']);
  const exportersRaw = root.exporters ?? [{ type: 'file' }];
  if (!Array.isArray(exportersRaw) || exportersRaw.length === 0) throw bad('a non-empty list of exporters', 'exporters', exportersRaw);

  const supRaw = section(root.supervisor, 'supervisor', ['restart_backoff_min_ms', 'restart_backoff_max_ms', 'crash_loop_restarts', 'crash_loop_window_ms', 'shutdown_timeout_ms']);

  return {
    data_dir: dataDir,
    log_level: logLevel,
    ingest: {
      workers: workers === 0 ? availableParallelism() : workers,
      max_message_bytes: maxMessage,
      max_inflight_bytes: maxInflight,
      otlp_grpc: {
        listen,
        max_concurrent_streams: int(grpcRaw, 'max_concurrent_streams', 'ingest.otlp_grpc', 100, 1, 10000),
        window_bytes: int(grpcRaw, 'window_bytes', 'ingest.otlp_grpc', 4 * MiB, 65535, 256 * MiB),
      },
      otlp_http: {
        listen: listenList(httpRaw, 'ingest.otlp_http', ['127.0.0.1:4318']),
        max_body_bytes: maxBody,
      },
      lines: {
        listen: listenList(linesRaw, 'ingest.lines', ['127.0.0.1:5170', `unix:${dataDir}/lines.sock`]),
        max_line_bytes: maxLine,
        long_lines: oneOf(linesRaw, 'long_lines', 'ingest.lines', ['split', 'truncate'] as const, 'split'),
      },
    },
    rings: {
      dir: resolve(str(ringsRaw, 'dir', 'rings', defaultRingDir(dataDir))),
      green_bytes: greenBytes,
      red_bytes: redBytes,
    },
    vault: {
      dir: resolve(str(vaultRaw, 'dir', 'vault', `${dataDir}/vault`)),
      segment_bytes: int(vaultRaw, 'segment_bytes', 'vault', 64 * MiB, MiB, 16 * 1024 * MiB),
      max_bytes: int(vaultRaw, 'max_bytes', 'vault', 10 * 1024 * MiB, 16 * MiB, Number.MAX_SAFE_INTEGER),
      sync: oneOf(vaultRaw, 'sync', 'vault', ['always', 'interval', 'never'] as const, 'interval'),
      sync_interval_ms: int(vaultRaw, 'sync_interval_ms', 'vault', 100, 1, 60_000),
      replay_records_per_second: int(vaultRaw, 'replay_records_per_second', 'vault', 200_000, 1, 100_000_000),
    },
    zones: {
      force: oneOf(zonesRaw, 'force', 'zones', ['green', 'red'] as const, 'green'),
    },
    export: {
      processes: int(exportRaw, 'processes', 'export', 1, 1, 64),
      dead_letter_path: resolve(str(exportRaw, 'dead_letter_path', 'export', `${dataDir}/dead-letter.jsonl`)),
    },
    exporters: exportersRaw.map((e, i) => parseExporter(e, `exporters[${i}]`, dataDir)),
    supervisor: {
      restart_backoff_min_ms: int(supRaw, 'restart_backoff_min_ms', 'supervisor', 100, 1, 3_600_000),
      restart_backoff_max_ms: int(supRaw, 'restart_backoff_max_ms', 'supervisor', 30_000, 1, 3_600_000),
      crash_loop_restarts: int(supRaw, 'crash_loop_restarts', 'supervisor', 5, 1, 1000),
      crash_loop_window_ms: int(supRaw, 'crash_loop_window_ms', 'supervisor', 60_000, 1000, 3_600_000),
      shutdown_timeout_ms: int(supRaw, 'shutdown_timeout_ms', 'supervisor', 10_000, 100, 600_000),
    },
  };
}

/**
 * Rings live in tmpfs so that a crashed child's successor finds them; the name is derived
 * from data_dir so that two engines on one host never share rings by accident.
 */
function defaultRingDir(dataDir: string): string {
  const tag = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return `/dev/shm/gophership-${process.getuid?.() ?? 0}-${tag}`;
}

function ringBytes(raw: Raw, key: string): number {
  const bytes = int(raw, key, 'rings', 64 * MiB, 64 * 1024, 1024 * MiB);
  if ((bytes & (bytes - 1)) !== 0) throw bad('a power of two', `rings.${key}`, bytes);
  return bytes;
}

/** A record never wraps inside the ring, so the largest record must fit twice. */
function checkRingFits(key: string, bytes: number, largestRecord: number): void {
  if (bytes < 2 * (largestRecord + RECORD_FRAMING_BYTES)) {
    throw new ConfigError(
      `rings.${key} (${bytes}) must be at least twice ingest.max_message_bytes, ingest.otlp_http.max_body_bytes and ingest.lines.max_line_bytes + 128 KiB, whichever is largest (here ${largestRecord}), plus framing; raise rings.${key} or lower those`,
    );
  }
}

function parseExporter(raw: unknown, path: string, dataDir: string): ExporterConfig {
  const obj = section(raw, path, ['type', 'path', 'max_bytes', 'max_files']);
  const type = oneOf(obj, 'type', path, ['file'] as const, undefined);
  return {
    type,
    path: resolve(str(obj, 'path', path, `${dataDir}/out/logs.jsonl`)),
    max_bytes: int(obj, 'max_bytes', path, 100 * MiB, 4096, Number.MAX_SAFE_INTEGER),
    max_files: int(obj, 'max_files', path, 5, 0, 10000),
  };
}

function listenList(raw: Raw, path: string, dflt: string[]): ListenAddress[] {
  const entries = raw.listen ?? dflt;
  if (!Array.isArray(entries)) throw bad('a list of "host:port" or "unix:PATH"', `${path}.listen`, entries);
  return entries.map((entry, i) => parseListen(entry, `${path}.listen[${i}]`));
}

function parseListen(entry: unknown, path: string): ListenAddress {
  if (typeof entry !== 'string') throw bad('"host:port" or "unix:PATH"', path, entry);
  if (entry.startsWith('unix:')) {
    const p = entry.slice(5);
    if (p.length === 0) throw bad('a socket path after "unix:"', path, entry);
    return { kind: 'unix', path: resolve(p) };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(entry);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw bad('"host:port" (IPv6 as "[::1]:4317") or "unix:PATH"', path, entry);
  return { kind: 'tcp', host: m[1] ?? m[2], port };
}

export function formatListen(addr: ListenAddress): string {
  return addr.kind === 'unix' ? `unix:${addr.path}` : addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

function bad(expected: string, path: string, actual: unknown): ConfigError {
  return new ConfigError(`Expected ${expected} for ${path} but received ${describe(actual)}`);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function section(raw: unknown, path: string, keys: readonly string[]): Raw {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('a mapping', path || 'the config file', raw);
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) {
      throw new ConfigError(`unknown key ${join(path, key)} (allowed here: ${keys.join(', ')})`);
    }
  }
  return raw as Raw;
}

function str(obj: Raw, key: string, path: string, dflt: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw bad('a non-empty string', join(path, key), v);
  return v;
}

function int(obj: Raw, key: string, path: string, dflt: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`an integer from ${min} to ${max}`, join(path, key), v);
  }
  return v;
}

function oneOf<T extends string>(obj: Raw, key: string, path: string, allowed: readonly T[], dflt: T | undefined): T {
  const v = obj[key];
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw bad(`one of ${allowed.join(', ')}`, join(path, key), v);
  return v as T;
}

/**
 * The one configuration file. Loaded and validated once in the supervisor; children get the
 * resolved object (JSON), so every process agrees on every value. Each key's type, bounds,
 * default and meaning are in the schema (config-schema.ts); here are what follows from
 * several keys together: the memory plan and its refusals, the ring fit, the zones' order,
 * TLS files, plaintext listeners, and the defaults under data_dir.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, describe } from './errors';
import type { z } from 'zod';
import { configSchema, type FileConfig, type fileExporterSchema, type otlpGrpcExporterSchema, type otlpHttpExporterSchema } from './config-schema';
import { parseSize } from './config-units';
import { createLogger } from './log';
import { DECODED_BATCH_BYTES, JSON_EXPANSION, type PlannedSizes, exportBatchBytesFor, exporterMallocKeepBytes, LINES_RECORD_SLACK_BYTES, planMemory, RECORD_FRAMING_BYTES, type MemoryPlan, type PlanInput } from './memory-plan';
import { detectMemorySource } from './memory-source';
import { formatListen, parseAddress, type ListenAddress } from './listen-address';
import { parseTlsConfig, type TlsConfig } from './tls-config';

// Children need addresses but not the file's parser (yaml) nor the plan's limit detection.
export { formatListen, type ListenAddress } from './listen-address';

/** A file exporter as resolved: its path made absolute (under data_dir by default). */
export type FileExporterConfig = Omit<z.output<typeof fileExporterSchema>, 'path'> & { path: string };

export interface ExportTlsConfig {
  ca: string | null;
  cert: string | null;
  key: string | null;
  server_name: string | null;
}

type OtlpFile = z.output<typeof otlpGrpcExporterSchema>;
/** How an OTLP exporter groups records into downstream requests; max_bytes from the plan by default. */
export type ExportBatchConfig = Omit<OtlpFile['batch'], 'max_bytes'> & { max_bytes: number };
export type ExportRetryConfig = OtlpFile['retry'];
type OtlpResolved<T> = Omit<T, 'tls' | 'batch' | 'endpoint'> & { tls: ExportTlsConfig | null; batch: ExportBatchConfig };

export type OtlpGrpcExporterConfig = OtlpResolved<OtlpFile> & { endpoint: ListenAddress };
/** endpoint: the full URL requests are POSTed to. */
export type OtlpHttpExporterConfig = OtlpResolved<z.output<typeof otlpHttpExporterSchema>> & { endpoint: string };
export interface StdoutExporterConfig {
  type: 'stdout';
}

export type ExporterConfig = FileExporterConfig | OtlpGrpcExporterConfig | OtlpHttpExporterConfig | StdoutExporterConfig;

/** Resource attributes the exporters add to every request (src/export/enrichment.ts). */
export type EnrichConfig = FileConfig['enrich'];

type Ingest = FileConfig['ingest'];
/** A receiver as resolved: its addresses (defaults under data_dir) and its TLS with files checked. */
type Listener<T> = Omit<T, 'listen' | 'tls' | 'insecure'> & { listen: ListenAddress[]; tls: TlsConfig | null };

/**
 * The resolved configuration: the schema's output (config-schema.ts, where every key is
 * described) with the sizes the memory plan decides and the paths under data_dir filled in.
 */
export type Config = Omit<FileConfig, 'data_dir' | 'memory' | 'ingest' | 'rings' | 'vault' | 'export' | 'exporters' | 'metrics' | 'control'> & {
  data_dir: string;
  memory: {
    /** The limit the plan was made for (set, from GOPHERSHIP_MEMORY_LIMIT, or detected). */
    limit_bytes: number;
    fraction: number;
    /** Every planned size, where it came from, and the worst case by part (src/common/memory-plan.ts). */
    plan: MemoryPlan;
  };
  ingest: Omit<Ingest, 'workers' | 'max_message_bytes' | 'max_inflight_bytes' | 'max_heap_mib' | 'max_connections' | 'otlp_grpc' | 'otlp_http' | 'lines'> & {
    workers: number;
    max_message_bytes: number;
    max_inflight_bytes: number;
    max_heap_mib: number;
    max_connections: number;
    otlp_grpc: Listener<Ingest['otlp_grpc']>;
    otlp_http: Listener<Omit<Ingest['otlp_http'], 'max_body_bytes'>> & { max_body_bytes: number };
    lines: Listener<Omit<Ingest['lines'], 'max_line_bytes'>> & { max_line_bytes: number };
  };
  rings: {
    /**
     * null: a private directory under /dev/shm with a random name, made at the first start
     * and recorded in data_dir (src/supervisor/ring-dir.ts), so no other user can guess it.
     */
    dir: string | null;
    green_bytes: number;
    red_bytes: number;
    replay_bytes: number;
  };
  vault: Omit<FileConfig['vault'], 'dir' | 'max_heap_mib' | 'write_buffer_bytes'> & { dir: string; max_heap_mib: number; write_buffer_bytes: number };
  export: {
    processes: number;
    dead_letter_path: string;
    max_heap_mib: number;
    /** Batches of one ring out to the forwarding exporters at once (ring-drain.ts); 1 when a file or stdout exporter is configured. */
    read_ahead_batches: number;
  };
  exporters: ExporterConfig[];
  metrics: Omit<FileConfig['metrics'], 'listen'> & { listen: { host: string; port: number } };
  control: {
    socket: string;
    allowed_uids: number[];
    /** The mTLS TCP listener; null: off. */
    tcp: { listen: ListenAddress & { kind: 'tcp' }; tls: TlsConfig } | null;
  };
};

const MiB = 1024 * 1024;
export { LINES_RECORD_SLACK_BYTES };
/** Where a Kubernetes manifest puts `resources.limits.memory` (downward API, divisor 1): it wins over detection. */
export const MEMORY_LIMIT_ENV = 'GOPHERSHIP_MEMORY_LIMIT';
/** Descriptors an ingest worker needs besides its connections: listeners, rings, bells, IPC, logs. */
const INGEST_RESERVED_FDS = 64;
/** What a connection may hold in memory besides a partial line: one 64 KiB socket read. */
const CONNECTION_READ_BYTES = 64 * 1024;

type Raw = Record<string, unknown>;
const log = createLogger('config');

/** A config whose rings.dir the supervisor has settled: what every child is given. */
export type EngineConfig = Config & { rings: { dir: string } };

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

/**
 * `limit` replaces the detection (tests, and tools that plan for another machine); a
 * `memory.limit_bytes` in the file or GOPHERSHIP_MEMORY_LIMIT still wins over it.
 */
export function validateConfig(raw: unknown, limit?: { bytes: number; source: string }): Config {
  const parsed = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) throw new ConfigError(issueMessage(parsed.error.issues));
  const file = parsed.data;
  const dataDir = resolve(file.data_dir);
  const ingest = file.ingest;
  const grpcListener = listenerSection(ingest.otlp_grpc, 'ingest.otlp_grpc', ['127.0.0.1:4317', `unix:${dataDir}/otlp-grpc.sock`]);
  const httpListener = listenerSection(ingest.otlp_http, 'ingest.otlp_http', ['127.0.0.1:4318']);
  const linesListener = listenerSection(ingest.lines, 'ingest.lines', ['127.0.0.1:5170', `unix:${dataDir}/lines.sock`]);

  const memory = resolveMemory(file.memory.limit_bytes, file.memory.fraction, limit);
  const exporters = file.exporters.map((e, i) => resolveExporter(e, `exporters[${i}]`, dataDir, exportBatchBytesFor(memory.bytes)));
  const readAhead = readAheadBatches(exporters, file.export.read_ahead_batches);

  // Every size the file leaves open comes from the plan; the ones it sets are checked against it.
  const input: PlanInput = {
    limitBytes: memory.bytes,
    limitSource: memory.source,
    fraction: memory.fraction,
    cores: availableParallelism(),
    workers: ingest.workers === 0 ? undefined : ingest.workers,
    greenBytes: file.rings.green_bytes,
    redBytes: file.rings.red_bytes,
    replayBytes: file.rings.replay_bytes,
    maxMessageBytes: ingest.max_message_bytes,
    maxBodyBytes: ingest.otlp_http.max_body_bytes,
    maxLineBytes: ingest.lines.max_line_bytes,
    maxInflightBytes: ingest.max_inflight_bytes,
    ingestHeapMib: ingest.max_heap_mib,
    exportHeapMib: file.export.max_heap_mib,
    vaultHeapMib: file.vault.max_heap_mib,
    vaultWriteBytes: file.vault.write_buffer_bytes,
    exportProcesses: file.export.processes,
  };
  const plan = planMemory(input, (sizes) => exporterBuffers(exporters, readAhead, sizes));
  const size = (key: string): number => plan.sizes[key].value;
  const maxMessage = size('ingest.max_message_bytes');
  const maxInflight = size('ingest.max_inflight_bytes');
  if (maxInflight < maxMessage) {
    throw new ConfigError(`ingest.max_inflight_bytes (${maxInflight}) must be at least ingest.max_message_bytes (${maxMessage}), or the largest request could never be received`);
  }
  const maxBody = size('ingest.otlp_http.max_body_bytes');
  const maxLine = size('ingest.lines.max_line_bytes');
  const largestRecord = Math.max(maxMessage, maxBody, maxLine + LINES_RECORD_SLACK_BYTES);
  for (const key of ['green_bytes', 'red_bytes'] as const) checkRingFits(key, size(`rings.${key}`), largestRecord);
  const maxConnections = ingest.max_connections ?? defaultMaxConnections(grpcListener.listen.length + httpListener.listen.length, linesListener.listen.length, size('ingest.max_heap_mib'), maxLine);

  // Hysteresis only works with the thresholds in this order; any other order would flap.
  const zones = file.zones;
  for (const [calm, busy] of [['recover', 'yellow'], ['yellow', 'red'], ['ring_recover', 'ring_yellow'], ['ring_yellow', 'ring_red']] as const) {
    if (zones[calm] > zones[busy]) throw new ConfigError(`zones.${calm} (${zones[calm]}) must not be above zones.${busy} (${zones[busy]})`);
  }
  const metrics = file.metrics;
  if (!metrics.insecure && !isLoopback(metrics.listen.host)) {
    throw new ConfigError(`metrics.listen ${formatListen(metrics.listen)} is not a loopback address; the endpoint is plaintext HTTP, so binding it elsewhere needs metrics.insecure: true`);
  }
  const { insecure: _grpcInsecure, listen: _grpcListen, tls: _grpcTls, ...grpcRest } = ingest.otlp_grpc;
  const { insecure: _httpInsecure, listen: _httpListen, tls: _httpTls, ...httpRest } = ingest.otlp_http;
  const { insecure: _linesInsecure, listen: _linesListen, tls: _linesTls, ...linesRest } = ingest.lines;

  return {
    data_dir: dataDir,
    memory: { limit_bytes: memory.bytes, fraction: memory.fraction, plan },
    log_level: file.log_level,
    log_format: file.log_format,
    ingest: {
      workers: size('ingest.workers'),
      max_message_bytes: maxMessage,
      max_inflight_bytes: maxInflight,
      max_heap_mib: size('ingest.max_heap_mib'),
      max_connections: maxConnections,
      otlp_grpc: { ...grpcListener, ...grpcRest },
      otlp_http: { ...httpListener, ...httpRest, max_body_bytes: maxBody },
      lines: { ...linesListener, ...linesRest, max_line_bytes: maxLine },
    },
    rings: {
      dir: file.rings.dir === undefined ? null : resolve(file.rings.dir),
      green_bytes: size('rings.green_bytes'),
      red_bytes: size('rings.red_bytes'),
      replay_bytes: size('rings.replay_bytes'),
    },
    vault: {
      ...file.vault,
      dir: resolve(file.vault.dir ?? `${dataDir}/vault`),
      max_heap_mib: size('vault.max_heap_mib'),
      write_buffer_bytes: size('vault.write_buffer_bytes'),
    },
    zones,
    export: {
      processes: file.export.processes,
      dead_letter_path: resolve(file.export.dead_letter_path ?? `${dataDir}/dead-letter.jsonl`),
      max_heap_mib: size('export.max_heap_mib'),
      read_ahead_batches: readAhead,
    },
    exporters,
    enrich: file.enrich,
    metrics: { ...metrics, listen: { host: metrics.listen.host, port: metrics.listen.port } },
    supervisor: file.supervisor,
    control: resolveControl(file.control, dataDir),
  };
}

/** One ConfigError message for the schema's issues: an unknown key first, as it often explains the rest. */
function issueMessage(issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  const path = issue.path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : join(p, String(k))), '');
  if (issue.code === 'unrecognized_keys') return `unknown key ${join(path, issue.keys[0])} ${issue.message}`;
  // A discriminated union reports the whole mapping; the value at fault is its type.
  const input = issue.code === 'invalid_union' && 'discriminator' in issue ? (issue.input as Raw | undefined)?.type : issue.input;
  const [expected, hint] = issue.message.split('|');
  const received = input === undefined ? 'nothing (the key is required)' : describe(input);
  return `Expected ${expected} for ${path || 'the config file'} but received ${received}${hint === undefined ? '' : ` ${hint}`}`;
}

/**
 * One listener's connection cap, the smaller of two shares. Descriptors: each worker is a
 * process of its own with the open-file limit (node raises the soft limit to the hard one),
 * shared by its listeners after a reserve. Memory: a lines connection may hold a partial line
 * and a socket read, and those of all lines listeners together stay within half the heap (the
 * OTLP listeners' requests are bounded by ingest.max_inflight_bytes instead).
 */
function defaultMaxConnections(otlpListeners: number, linesListeners: number, maxHeapMib: number, maxLineBytes: number): number {
  const byFds = Math.floor((openFileLimit() - INGEST_RESERVED_FDS) / Math.max(1, otlpListeners + linesListeners));
  const byMemory = Math.floor((maxHeapMib * MiB) / 2 / Math.max(1, linesListeners) / (maxLineBytes + CONNECTION_READ_BYTES));
  return Math.max(1, Math.min(byFds, byMemory));
}

/** This process's soft RLIMIT_NOFILE (children inherit it); 1024, the usual default, where /proc is not there. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // Not Linux: fall through.
  }
  return 1024;
}

function resolveControl(control: FileConfig['control'], dataDir: string): Config['control'] {
  let tcp: Config['control']['tcp'] = null;
  if (control.tcp !== undefined) {
    if (control.tcp.tls === undefined) {
      throw new ConfigError('control.tcp has no tls: the TCP control listener is never plaintext; set control.tcp.tls.cert, .key and .ca (the CA that signs operator client certificates), or remove control.tcp and use the Unix socket');
    }
    tcp = { listen: control.tcp.listen, tls: parseTlsConfig(control.tcp.tls, 'control.tcp.tls', { mutualOnly: true }) };
  }
  return {
    socket: resolve(control.socket ?? `${dataDir}/control.sock`),
    allowed_uids: control.allowed_uids ?? [...new Set([0, process.getuid?.() ?? 0])],
    tcp,
  };
}

/**
 * Secure default for any listener section: plaintext only on loopback or a Unix socket,
 * unless the section says `insecure: true`. Names the fix in the error.
 */
export function checkPlaintextListeners(listen: readonly ListenAddress[], path: string, tls: boolean, insecure: boolean): void {
  if (tls || insecure) return;
  for (const addr of listen) {
    if (addr.kind === 'tcp' && !isLoopback(addr.host)) {
      throw new ConfigError(
        `${path}.listen has ${formatListen(addr)}, a plaintext listener on a non-loopback address: configure ${path}.tls (cert and key), or set ${path}.insecure: true to accept plaintext there on purpose`,
      );
    }
  }
}

/**
 * The memory limit the plan is made for: memory.limit_bytes, else GOPHERSHIP_MEMORY_LIMIT,
 * else what the caller measured, else the cgroup this process runs in or the host's RAM.
 */
function resolveMemory(set: number | undefined, fraction: number, measured: { bytes: number; source: string } | undefined): { bytes: number; source: string; fraction: number } {
  if (set !== undefined) return { bytes: set, source: 'memory.limit_bytes', fraction };
  const env = process.env[MEMORY_LIMIT_ENV];
  if (env !== undefined && env !== '') {
    const bytes = parseSize(env);
    if (bytes === undefined || bytes < 16 * MiB) throw bad('a size of at least 16 MiB: bytes, or with a unit (256Mi, 256MiB, 1G)', MEMORY_LIMIT_ENV, env);
    return { bytes, source: MEMORY_LIMIT_ENV, fraction };
  }
  if (measured !== undefined) return { ...measured, fraction };
  const source = detectMemorySource();
  try {
    return { bytes: source.read().limitBytes, source: source.kind === 'host' ? 'host MemTotal' : `${source.kind} ${source.path}`, fraction };
  } finally {
    source.close();
  }
}

/**
 * A file or stdout exporter writes each batch's JSON into one buffer reused from batch to
 * batch, and in ring order: with one configured, batches go one at a time.
 */
function readAheadBatches(exporters: readonly ExporterConfig[], configured: number): number {
  return exporters.every((e) => e.type === 'otlp_grpc' || e.type === 'otlp_http') ? configured : 1;
}

/** What the exporters of one process hold beyond their heap: send buffers and JSON output, and the C heap glibc keeps. */
function exporterBuffers(exporters: readonly ExporterConfig[], readAhead: number, sizes: PlannedSizes): number {
  let bytes = exporterMallocKeepBytes(sizes.exportHeapMib);
  // A batch is DECODED_BATCH_BYTES of requests, or one larger request alone.
  const batch = Math.max(DECODED_BATCH_BYTES, sizes.maxMessageBytes, sizes.maxBodyBytes);
  for (const e of exporters) {
    // Each ring batch out has its requests copied into send buffers, and the transport copies each again.
    if (e.type === 'otlp_grpc' || e.type === 'otlp_http') bytes += 2 * readAhead * e.max_in_flight * e.batch.max_bytes;
  }
  // File and stdout share one JSON buffer: at most JSON_EXPANSION bytes a request byte (a
  // string of control characters, each escaped as \u00XX), plus the request made contiguous.
  if (exporters.some((e) => e.type === 'file' || e.type === 'stdout')) bytes += (JSON_EXPANSION + 1) * batch;
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

/** `batchBytes`: the memory plan's default for batch.max_bytes (never above max_message_bytes). */
function resolveExporter(e: FileConfig['exporters'][number], path: string, dataDir: string, batchBytes: number): ExporterConfig {
  if (e.type === 'stdout') return e;
  if (e.type === 'file') return { ...e, path: resolve(e.path ?? `${dataDir}/out/logs.jsonl`) };
  const batch = e.batch;
  if (batch.max_bytes !== undefined && batch.max_bytes > e.max_message_bytes) throw bad(`an integer from 1024 to ${e.max_message_bytes} (max_message_bytes)`, `${path}.batch.max_bytes`, batch.max_bytes);
  if (e.retry.max_ms < e.retry.initial_ms) throw bad(`an integer from ${e.retry.initial_ms} (retry.initial_ms) to 3600000`, `${path}.retry.max_ms`, e.retry.max_ms);
  const common = { ...e, batch: { ...batch, max_bytes: batch.max_bytes ?? Math.min(batchBytes, e.max_message_bytes) } };
  if (e.type === 'otlp_http') return { ...common, type: e.type, endpoint: e.endpoint, encoding: e.encoding, tls: exporterTls(e.tls, path) };
  // An http:// or https:// endpoint says plaintext or TLS, as the OpenTelemetry Collector reads it.
  let tls = exporterTls(e.tls, path);
  if (e.endpoint.tls === false && tls !== null) throw new ConfigError(`${path}.endpoint is http:// (plaintext) but ${path}.tls is set: use https:// or drop ${path}.tls`);
  if (e.endpoint.tls === true && tls === null) tls = { ca: null, cert: null, key: null, server_name: null };
  return { ...common, type: e.type, endpoint: e.endpoint.address, tls };
}

/** The exporter's TLS with the deprecated `*_file` spellings folded into `cert`, `key`, `ca`. */
function exporterTls(raw: OtlpFile['tls'], path: string): ExportTlsConfig | null {
  if (raw === undefined) return null;
  const file = (key: 'ca' | 'cert' | 'key'): string | null => {
    const alias = raw[`${key}_file`];
    if (alias !== undefined) {
      if (raw[key] !== undefined) throw new ConfigError(`${path}.tls.${key}_file and ${path}.tls.${key} both set: keep ${path}.tls.${key}`);
      log.warn(`${path}.tls.${key}_file is deprecated: write ${path}.tls.${key}, as the listeners' tls sections do`, { code: 'GS_CONFIG_DEPRECATED' });
    }
    const value = raw[key] ?? alias;
    return value === undefined ? null : resolve(value);
  };
  const tls = { ca: file('ca'), cert: file('cert'), key: file('key'), server_name: raw.server_name ?? null };
  if ((tls.cert === null) !== (tls.key === null)) throw new ConfigError(`${path}.tls: cert and key go together (a client certificate needs its key)`);
  return tls;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A receiver's addresses and TLS; plaintext on a non-loopback address only with `insecure: true`. */
function listenerSection(raw: Pick<Ingest['lines'], 'listen' | 'tls' | 'insecure'>, path: string, dflt: string[]): { listen: ListenAddress[]; tls: TlsConfig | null } {
  const listen = raw.listen ?? dflt.map((a) => parseAddress(a)!);
  const tls = raw.tls === undefined ? null : parseTlsConfig(raw.tls, `${path}.tls`);
  checkPlaintextListeners(listen, path, tls !== null, raw.insecure);
  return { listen, tls };
}

function bad(expected: string, path: string, actual: unknown): ConfigError {
  return new ConfigError(`Expected ${expected} for ${path} but received ${describe(actual)}`);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * The one configuration file. Loaded and validated once in the supervisor; children get the
 * resolved object, so every process agrees on every value. Unknown keys are errors: a typo in
 * a memory bound must not silently fall back to a default.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, describe } from './errors';
import { DECODED_BATCH_BYTES, DEFAULT_PLAN_FRACTION, JSON_EXPANSION, type PlannedSizes, exportBatchBytesFor, exporterMallocKeepBytes, LINES_RECORD_SLACK_BYTES, planMemory, RECORD_FRAMING_BYTES, type MemoryPlan, type PlanInput } from './memory-plan';
import { detectMemorySource } from './memory-source';
import { formatListen, type ListenAddress } from './listen-address';
import { parseTlsConfig, type TlsConfig } from './tls-config';
import { ZONE_MODES, type ZoneMode } from './zone-cell';

// Children need addresses but not the file's parser (yaml) nor the plan's limit detection.
export { formatListen, type ListenAddress } from './listen-address';

export interface FileExporterConfig {
  type: 'file';
  path: string;
  max_bytes: number;
  max_files: number;
}

/** How an OTLP exporter groups records into downstream requests. */
export interface ExportBatchConfig {
  max_records: number;
  max_bytes: number;
  delay_ms: number;
}

export interface ExportRetryConfig {
  initial_ms: number;
  max_ms: number;
  /** 0: retry until the downstream takes it (the ring backs up meanwhile). */
  max_elapsed_ms: number;
}

export interface ExportTlsConfig {
  ca_file: string | null;
  cert_file: string | null;
  key_file: string | null;
  server_name: string | null;
}

interface OtlpExporterCommon {
  tls: ExportTlsConfig | null;
  /** Connections to the downstream. */
  connections: number;
  /** Downstream requests one ring batch may have in flight at once. */
  max_in_flight: number;
  headers: Record<string, string>;
  timeout_ms: number;
  max_message_bytes: number;
  compression: 'none' | 'gzip';
  batch: ExportBatchConfig;
  retry: ExportRetryConfig;
}

export interface OtlpGrpcExporterConfig extends OtlpExporterCommon {
  type: 'otlp_grpc';
  endpoint: ListenAddress;
}

export interface OtlpHttpExporterConfig extends OtlpExporterCommon {
  type: 'otlp_http';
  /** The full URL requests are POSTed to. */
  endpoint: string;
  encoding: 'protobuf' | 'json';
}

export interface StdoutExporterConfig {
  type: 'stdout';
}

export type ExporterConfig = FileExporterConfig | OtlpGrpcExporterConfig | OtlpHttpExporterConfig | StdoutExporterConfig;

/** Resource attributes the exporters add to every request (src/export/enrichment.ts). */
export interface EnrichConfig {
  host_name: boolean;
  service_instance_id: boolean;
  /** Environment variable (Kubernetes downward API) to resource attribute. */
  k8s_env: Record<string, string>;
  attributes: Record<string, string | number | boolean>;
  override: boolean;
}

export interface Config {
  data_dir: string;
  memory: {
    /** The limit the plan was made for (set, from GOPHERSHIP_MEMORY_LIMIT, or detected). */
    limit_bytes: number;
    /** What the plan's worst case may take of the limit. */
    fraction: number;
    /** Every planned size, where it came from, and the worst case by part (src/common/memory-plan.ts). */
    plan: MemoryPlan;
  };
  log_level: 'debug' | 'info' | 'warn' | 'error';
  /** Our own logs on stderr: `auto` is text on a terminal, JSON lines otherwise. */
  log_format: 'auto' | 'json' | 'text';
  ingest: {
    workers: number;
    max_message_bytes: number;
    max_inflight_bytes: number;
    /** --max-old-space-size of each process of this role: part of the memory bound. */
    max_heap_mib: number;
    /** Connections one listener of one worker holds at once; more are closed on accept. */
    max_connections: number;
    otlp_grpc: {
      listen: ListenAddress[];
      max_concurrent_streams: number;
      window_bytes: number;
      /** A request with no DATA frame for this long before its message is complete is reset. */
      stream_idle_timeout_ms: number;
      /** On the TCP listeners; null: plaintext (refused on a non-loopback address unless `insecure: true` in the file). */
      tls: TlsConfig | null;
    };
    otlp_http: {
      listen: ListenAddress[];
      /** On the TCP listeners; null: plaintext. */
      tls: TlsConfig | null;
      /** Counted after decompression; the wire bytes of a compressed body are held to it too. */
      max_body_bytes: number;
      /** Silence allowed mid-body, while headers arrive, and between kept-alive requests. */
      idle_timeout_ms: number;
      /** A request's first byte to its last. */
      request_timeout_ms: number;
    };
    lines: {
      listen: ListenAddress[];
      tls: TlsConfig | null;
      max_line_bytes: number;
      /** What happens to a line longer than max_line_bytes. */
      long_lines: 'split' | 'truncate';
      /** A connection silent, or holding one partial line, for this long is closed. */
      idle_timeout_ms: number;
    };
  };
  rings: {
    /**
     * null: a private directory under /dev/shm with a random name, made at the first start
     * and recorded in data_dir (src/supervisor/ring-dir.ts), so no other user can guess it.
     */
    dir: string | null;
    green_bytes: number;
    red_bytes: number;
    /** The ring the vault replays into, read by exporter 0. */
    replay_bytes: number;
  };
  vault: {
    dir: string;
    segment_bytes: number;
    max_bytes: number;
    sync: 'always' | 'interval' | 'never';
    sync_interval_ms: number;
    replay_records_per_second: number;
    /** Replay the vault by itself whenever the zone is Green and the vault holds records. */
    auto_replay: boolean;
    max_heap_mib: number;
    /** One O_DIRECT write carries up to this much; a replay batch too. */
    write_buffer_bytes: number;
  };
  zones: {
    /** `auto` follows the pressure monitor; a zone name pins the zone from the start. */
    force: ZoneMode;
    /** Fractions of the memory limit: enter Yellow, enter Red, and go back to Green below. */
    yellow: number;
    red: number;
    recover: number;
    /** Fractions of the fullest green ring, with the same meaning. */
    ring_yellow: number;
    ring_red: number;
    ring_recover: number;
    /** PSI `some` avg10 (a fraction of time stalled on memory) that means Red. */
    psi_red: number;
    /** Written to the PSI file as a kernel trigger; empty turns triggers off. */
    psi_trigger: string;
    sample_interval_ms: number;
    /** Weight of the newest sample in the moving average that decides recovery. */
    ewma_alpha: number;
    /** Shortest stay in a zone before stepping down to a calmer one. */
    min_dwell_ms: number;
  };
  export: {
    processes: number;
    dead_letter_path: string;
    max_heap_mib: number;
    /** Batches of one ring out to the forwarding exporters at once (ring-drain.ts); 1 when a file or stdout exporter is configured. */
    read_ahead_batches: number;
  };
  exporters: ExporterConfig[];
  enrich: EnrichConfig;
  metrics: {
    /** false: no HTTP listener at all (no /metrics, /healthz, /readyz). */
    enabled: boolean;
    listen: { host: string; port: number };
    /** Required to bind a non-loopback address: the endpoint is plaintext HTTP. */
    insecure: boolean;
    /** How long a scrape waits for each child's metrics before leaving it out. */
    child_timeout_ms: number;
    /** An ingest worker that refused a request for lack of room within this is not ready. */
    refusing_window_ms: number;
  };
  supervisor: {
    restart_backoff_min_ms: number;
    restart_backoff_max_ms: number;
    crash_loop_restarts: number;
    crash_loop_window_ms: number;
    shutdown_timeout_ms: number;
  };
  control: {
    /** The Unix socket of the control plane; callers are checked by SO_PEERCRED. */
    socket: string;
    allowed_uids: number[];
    /** The mTLS TCP listener; null: off. */
    tcp: { listen: ListenAddress & { kind: 'tcp' }; tls: TlsConfig } | null;
  };
}

const MiB = 1024 * 1024;
export { LINES_RECORD_SLACK_BYTES };
/** Where a Kubernetes manifest puts `resources.limits.memory` (downward API, divisor 1): it wins over detection. */
export const MEMORY_LIMIT_ENV = 'GOPHERSHIP_MEMORY_LIMIT';
/** Descriptors an ingest worker needs besides its connections: listeners, rings, bells, IPC, logs. */
const INGEST_RESERVED_FDS = 64;
/** What a connection may hold in memory besides a partial line: one 64 KiB socket read. */
const CONNECTION_READ_BYTES = 64 * 1024;

type Raw = Record<string, unknown>;

/** Reads, parses and validates; `path` undefined means the embedded defaults. */
/** A config whose rings.dir the supervisor has settled: what every child is given. */
export type EngineConfig = Config & { rings: { dir: string } };

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
  const root = section(raw, '', ['data_dir', 'memory', 'log_level', 'log_format', 'ingest', 'rings', 'vault', 'zones', 'export', 'exporters', 'enrich', 'supervisor', 'metrics', 'control']);
  const dataDir = resolve(str(root, 'data_dir', '', './var'));
  const logLevel = oneOf(root, 'log_level', '', ['debug', 'info', 'warn', 'error'] as const, 'info');
  const logFormat = oneOf(root, 'log_format', '', ['auto', 'json', 'text'] as const, 'auto');

  const ingestRaw = section(root.ingest, 'ingest', ['workers', 'max_message_bytes', 'max_inflight_bytes', 'max_heap_mib', 'max_connections', 'otlp_grpc', 'otlp_http', 'lines']);
  const grpcRaw = section(ingestRaw.otlp_grpc, 'ingest.otlp_grpc', ['listen', 'max_concurrent_streams', 'window_bytes', 'stream_idle_timeout_ms', 'tls', 'insecure']);
  const grpcListener = listenerSection(grpcRaw, 'ingest.otlp_grpc', ['127.0.0.1:4317', `unix:${dataDir}/otlp-grpc.sock`]);
  const httpRaw = section(ingestRaw.otlp_http, 'ingest.otlp_http', ['listen', 'max_body_bytes', 'idle_timeout_ms', 'request_timeout_ms', 'tls', 'insecure']);
  const httpListener = listenerSection(httpRaw, 'ingest.otlp_http', ['127.0.0.1:4318']);
  const linesRaw = section(ingestRaw.lines, 'ingest.lines', ['listen', 'max_line_bytes', 'long_lines', 'idle_timeout_ms', 'tls', 'insecure']);
  const linesListener = listenerSection(linesRaw, 'ingest.lines', ['127.0.0.1:5170', `unix:${dataDir}/lines.sock`]);

  const ringsRaw = section(root.rings, 'rings', ['dir', 'green_bytes', 'red_bytes', 'replay_bytes']);
  const vaultRaw = section(root.vault, 'vault', ['dir', 'segment_bytes', 'max_bytes', 'sync', 'sync_interval_ms', 'replay_records_per_second', 'auto_replay', 'max_heap_mib', 'write_buffer_bytes']);
  const exportRaw = section(root.export, 'export', ['processes', 'dead_letter_path', 'max_heap_mib', 'read_ahead_batches']);
  const exportProcesses = int(exportRaw, 'processes', 'export', 1, 1, 64);
  const memory = parseMemory(root.memory, limit);
  const exportersRaw = root.exporters ?? [{ type: 'file' }];
  if (!Array.isArray(exportersRaw) || exportersRaw.length === 0) throw bad('a non-empty list of exporters', 'exporters', exportersRaw);
  const exporters = exportersRaw.map((e, i) => parseExporter(e, `exporters[${i}]`, dataDir, exportBatchBytesFor(memory.bytes)));
  const readAhead = readAheadBatches(exporters, int(exportRaw, 'read_ahead_batches', 'export', DEFAULT_READ_AHEAD_BATCHES, 1, 8));

  // Every size the file leaves open comes from the plan; the ones it sets are checked against it.
  const workersSet = int(ingestRaw, 'workers', 'ingest', 0, 0, 256);
  const input: PlanInput = {
    limitBytes: memory.bytes,
    limitSource: memory.source,
    fraction: memory.fraction,
    cores: availableParallelism(),
    workers: workersSet === 0 ? undefined : workersSet,
    greenBytes: optRingBytes(ringsRaw, 'green_bytes'),
    redBytes: optRingBytes(ringsRaw, 'red_bytes'),
    replayBytes: optRingBytes(ringsRaw, 'replay_bytes'),
    maxMessageBytes: optInt(ingestRaw, 'max_message_bytes', 'ingest', 1024, 1024 * MiB),
    maxBodyBytes: optInt(httpRaw, 'max_body_bytes', 'ingest.otlp_http', 1024, 1024 * MiB),
    maxLineBytes: optInt(linesRaw, 'max_line_bytes', 'ingest.lines', 16, 64 * MiB),
    maxInflightBytes: optInt(ingestRaw, 'max_inflight_bytes', 'ingest', 1024, 16 * 1024 * MiB),
    ingestHeapMib: optInt(ingestRaw, 'max_heap_mib', 'ingest', 16, 65536),
    exportHeapMib: optInt(exportRaw, 'max_heap_mib', 'export', 16, 65536),
    vaultHeapMib: optInt(vaultRaw, 'max_heap_mib', 'vault', 16, 65536),
    vaultWriteBytes: optInt(vaultRaw, 'write_buffer_bytes', 'vault', 1024 * 1024, 256 * MiB),
    exportProcesses,
  };
  if (input.vaultWriteBytes !== undefined && input.vaultWriteBytes % 4096 !== 0) throw bad('a multiple of 4096 (an O_DIRECT write)', 'vault.write_buffer_bytes', input.vaultWriteBytes);
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
  const maxConnections = int(ingestRaw, 'max_connections', 'ingest', defaultMaxConnections(grpcListener.listen.length + httpListener.listen.length, linesListener.listen.length, size('ingest.max_heap_mib'), maxLine), 1, 1_000_000);

  const zones = parseZones(section(root.zones, 'zones', ['force', 'yellow', 'red', 'recover', 'ring_yellow', 'ring_red', 'ring_recover', 'psi_red', 'psi_trigger', 'sample_interval_ms', 'ewma_alpha', 'min_dwell_ms']));

  const metrics = parseMetrics(root.metrics);

  const supRaw = section(root.supervisor, 'supervisor', ['restart_backoff_min_ms', 'restart_backoff_max_ms', 'crash_loop_restarts', 'crash_loop_window_ms', 'shutdown_timeout_ms']);

  return {
    data_dir: dataDir,
    memory: { limit_bytes: memory.bytes, fraction: memory.fraction, plan },
    log_level: logLevel,
    log_format: logFormat,
    ingest: {
      workers: size('ingest.workers'),
      max_message_bytes: maxMessage,
      max_inflight_bytes: maxInflight,
      max_heap_mib: size('ingest.max_heap_mib'),
      max_connections: maxConnections,
      otlp_grpc: {
        ...grpcListener,
        max_concurrent_streams: int(grpcRaw, 'max_concurrent_streams', 'ingest.otlp_grpc', 100, 1, 10000),
        window_bytes: int(grpcRaw, 'window_bytes', 'ingest.otlp_grpc', 4 * MiB, 65535, 256 * MiB),
        // A healthy client sends a DATA frame (16 KiB at most) far more often; 10 s is also
        // the OpenTelemetry SDKs' default export timeout, past which the client gave up anyway.
        stream_idle_timeout_ms: int(grpcRaw, 'stream_idle_timeout_ms', 'ingest.otlp_grpc', 10_000, 100, 3_600_000),
      },
      otlp_http: {
        ...httpListener,
        max_body_bytes: maxBody,
        // The same reasoning as the gRPC stream's; a whole request gets a minute, enough for
        // the largest body on a slow link, and no more for one trickled a byte at a time.
        idle_timeout_ms: int(httpRaw, 'idle_timeout_ms', 'ingest.otlp_http', 10_000, 100, 3_600_000),
        request_timeout_ms: int(httpRaw, 'request_timeout_ms', 'ingest.otlp_http', 60_000, 100, 3_600_000),
      },
      lines: {
        ...linesListener,
        max_line_bytes: maxLine,
        long_lines: oneOf(linesRaw, 'long_lines', 'ingest.lines', ['split', 'truncate'] as const, 'split'),
        // Lines clients (shippers, syslog) keep a connection across quiet spells and write
        // a line at once; two minutes of silence or of one unfinished line is neither.
        idle_timeout_ms: int(linesRaw, 'idle_timeout_ms', 'ingest.lines', 120_000, 100, 86_400_000),
      },
    },
    rings: {
      dir: ringsRaw.dir === undefined || ringsRaw.dir === null ? null : resolve(str(ringsRaw, 'dir', 'rings', '')),
      green_bytes: size('rings.green_bytes'),
      red_bytes: size('rings.red_bytes'),
      replay_bytes: size('rings.replay_bytes'),
    },
    vault: {
      dir: resolve(str(vaultRaw, 'dir', 'vault', `${dataDir}/vault`)),
      segment_bytes: int(vaultRaw, 'segment_bytes', 'vault', 64 * MiB, MiB, 16 * 1024 * MiB),
      max_bytes: int(vaultRaw, 'max_bytes', 'vault', 10 * 1024 * MiB, 16 * MiB, Number.MAX_SAFE_INTEGER),
      sync: oneOf(vaultRaw, 'sync', 'vault', ['always', 'interval', 'never'] as const, 'interval'),
      sync_interval_ms: int(vaultRaw, 'sync_interval_ms', 'vault', 100, 1, 60_000),
      replay_records_per_second: int(vaultRaw, 'replay_records_per_second', 'vault', 200_000, 1, 100_000_000),
      auto_replay: bool(vaultRaw, 'auto_replay', 'vault', true),
      max_heap_mib: size('vault.max_heap_mib'),
      write_buffer_bytes: size('vault.write_buffer_bytes'),
    },
    zones,
    export: {
      processes: exportProcesses,
      dead_letter_path: resolve(str(exportRaw, 'dead_letter_path', 'export', `${dataDir}/dead-letter.jsonl`)),
      max_heap_mib: size('export.max_heap_mib'),
      read_ahead_batches: readAhead,
    },
    exporters,
    enrich: parseEnrich(root.enrich),
    metrics,
    supervisor: {
      restart_backoff_min_ms: int(supRaw, 'restart_backoff_min_ms', 'supervisor', 100, 1, 3_600_000),
      restart_backoff_max_ms: int(supRaw, 'restart_backoff_max_ms', 'supervisor', 30_000, 1, 3_600_000),
      crash_loop_restarts: int(supRaw, 'crash_loop_restarts', 'supervisor', 5, 1, 1000),
      crash_loop_window_ms: int(supRaw, 'crash_loop_window_ms', 'supervisor', 60_000, 1000, 3_600_000),
      shutdown_timeout_ms: int(supRaw, 'shutdown_timeout_ms', 'supervisor', 10_000, 100, 600_000),
    },
    control: parseControl(root.control, dataDir),
  };
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

function parseZones(raw: Raw): Config['zones'] {
  const fraction = (key: string, dflt: number): number => num(raw, key, 'zones', dflt, 0.01, 1);
  const zones: Config['zones'] = {
    force: oneOf(raw, 'force', 'zones', ZONE_MODES, 'auto'),
    yellow: fraction('yellow', 0.8),
    red: fraction('red', 0.9),
    recover: fraction('recover', 0.7),
    ring_yellow: fraction('ring_yellow', 0.5),
    ring_red: fraction('ring_red', 0.9),
    ring_recover: fraction('ring_recover', 0.25),
    psi_red: fraction('psi_red', 0.2),
    psi_trigger: raw.psi_trigger === '' ? '' : str(raw, 'psi_trigger', 'zones', 'some 200000 2000000'),
    sample_interval_ms: int(raw, 'sample_interval_ms', 'zones', 10, 1, 10_000),
    ewma_alpha: num(raw, 'ewma_alpha', 'zones', 0.2, 0.01, 1),
    min_dwell_ms: int(raw, 'min_dwell_ms', 'zones', 1000, 0, 600_000),
  };
  if (zones.psi_trigger !== '' && !/^(some|full) \d+ \d+$/.test(zones.psi_trigger)) {
    throw bad('"some|full <stall µs> <window µs>" or ""', 'zones.psi_trigger', zones.psi_trigger);
  }
  // Hysteresis only works with the thresholds in this order; any other order would flap.
  for (const [calm, busy] of [['recover', 'yellow'], ['yellow', 'red'], ['ring_recover', 'ring_yellow'], ['ring_yellow', 'ring_red']] as const) {
    if (zones[calm] > zones[busy]) throw new ConfigError(`zones.${calm} (${zones[calm]}) must not be above zones.${busy} (${zones[busy]})`);
  }
  return zones;
}

function parseControl(raw: unknown, dataDir: string): Config['control'] {
  const obj = section(raw, 'control', ['socket', 'allowed_uids', 'tcp']);
  const ownUid = process.getuid?.() ?? 0;
  const uidsRaw = obj.allowed_uids ?? [...new Set([0, ownUid])];
  if (!Array.isArray(uidsRaw) || uidsRaw.some((u) => !Number.isInteger(u) || u < 0 || u > 0xffffffff)) {
    throw bad('a list of numeric user ids', 'control.allowed_uids', uidsRaw);
  }
  let tcp: Config['control']['tcp'] = null;
  if (obj.tcp !== undefined && obj.tcp !== null) {
    const tcpRaw = section(obj.tcp, 'control.tcp', ['listen', 'tls']);
    const listen = parseListen(tcpRaw.listen ?? '127.0.0.1:9092', 'control.tcp.listen');
    if (listen.kind !== 'tcp') throw bad('"host:port" (the Unix socket is control.socket)', 'control.tcp.listen', tcpRaw.listen);
    if (tcpRaw.tls === undefined || tcpRaw.tls === null) {
      throw new ConfigError('control.tcp has no tls: the TCP control listener is never plaintext; set control.tcp.tls.cert, .key and .ca (the CA that signs operator client certificates), or remove control.tcp and use the Unix socket');
    }
    tcp = { listen, tls: parseTlsConfig(tcpRaw.tls, 'control.tcp.tls', { mutualOnly: true }) };
  }
  return { socket: resolve(str(obj, 'socket', 'control', `${dataDir}/control.sock`)), allowed_uids: uidsRaw as number[], tcp };
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

function optRingBytes(raw: Raw, key: string): number | undefined {
  const bytes = optInt(raw, key, 'rings', 64 * 1024, 1024 * MiB);
  if (bytes !== undefined && (bytes & (bytes - 1)) !== 0) throw bad('a power of two', `rings.${key}`, bytes);
  return bytes;
}

/**
 * The memory limit the plan is made for: memory.limit_bytes, else GOPHERSHIP_MEMORY_LIMIT,
 * else what the caller measured, else the cgroup this process runs in or the host's RAM.
 */
function parseMemory(raw: unknown, measured: { bytes: number; source: string } | undefined): { bytes: number; source: string; fraction: number } {
  const obj = section(raw, 'memory', ['limit_bytes', 'fraction']);
  const fraction = num(obj, 'fraction', 'memory', DEFAULT_PLAN_FRACTION, 0.3, 0.95);
  if (obj.limit_bytes !== undefined && obj.limit_bytes !== null) return { bytes: sizeValue(obj.limit_bytes, 'memory.limit_bytes'), source: 'memory.limit_bytes', fraction };
  const env = process.env[MEMORY_LIMIT_ENV];
  if (env !== undefined && env !== '') return { bytes: sizeValue(env, MEMORY_LIMIT_ENV), source: MEMORY_LIMIT_ENV, fraction };
  if (measured !== undefined) return { ...measured, fraction };
  const source = detectMemorySource();
  try {
    return { bytes: source.read().limitBytes, source: source.kind === 'host' ? 'host MemTotal' : `${source.kind} ${source.path}`, fraction };
  } finally {
    source.close();
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, ki: 1024, mi: MiB, gi: 1024 * MiB, kib: 1024, mib: MiB, gib: 1024 * MiB, kb: 1e3, mb: 1e6, gb: 1e9 };

/** Bytes as a number, or as Kubernetes writes a quantity ("256Mi", "1G") or with IEC units ("256MiB"). */
function sizeValue(v: unknown, path: string): number {
  const m = typeof v === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(v));
  const bytes = typeof v === 'number' ? v : m !== null && SIZE_UNITS[m[2].toLowerCase()] !== undefined ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]) : NaN;
  if (!Number.isInteger(bytes) || bytes < 16 * MiB) throw bad('a size of at least 16 MiB: bytes, or with a unit (256Mi, 256MiB, 1G)', path, v);
  return bytes;
}

/**
 * Two ring batches out at once: the next is assembled and sent while the downstream answers
 * the previous one, which is what keeps a forwarding exporter's connections busy.
 */
const DEFAULT_READ_AHEAD_BATCHES = 2;

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

function parseExporter(raw: unknown, path: string, dataDir: string, batchBytes: number): ExporterConfig {
  const type = oneOf(section(raw, path, ['type', ...OTLP_KEYS, 'path', 'max_bytes', 'max_files', 'encoding']), 'type', path, ['file', 'otlp_grpc', 'otlp_http', 'stdout'] as const, undefined);
  if (type === 'stdout') {
    section(raw, path, ['type']);
    return { type };
  }
  if (type === 'otlp_grpc') {
    const obj = section(raw, path, ['type', ...OTLP_KEYS]);
    return { type, endpoint: parseListen(obj.endpoint, join(path, 'endpoint')), ...parseOtlpCommon(obj, path, batchBytes) };
  }
  if (type === 'otlp_http') {
    const obj = section(raw, path, ['type', ...OTLP_KEYS, 'encoding']);
    return {
      type,
      endpoint: parseHttpEndpoint(obj.endpoint, join(path, 'endpoint')),
      encoding: oneOf(obj, 'encoding', path, ['protobuf', 'json'] as const, 'protobuf'),
      ...parseOtlpCommon(obj, path, batchBytes),
    };
  }
  const obj = section(raw, path, ['type', 'path', 'max_bytes', 'max_files']);
  return {
    type,
    path: resolve(str(obj, 'path', path, `${dataDir}/out/logs.jsonl`)),
    max_bytes: int(obj, 'max_bytes', path, 100 * MiB, 4096, Number.MAX_SAFE_INTEGER),
    max_files: int(obj, 'max_files', path, 5, 0, 10000),
  };
}

const OTLP_KEYS = ['endpoint', 'tls', 'connections', 'max_in_flight', 'headers', 'timeout_ms', 'max_message_bytes', 'compression', 'batch', 'retry'] as const;

/** `batchBytes`: the memory plan's default for batch.max_bytes (never above max_message_bytes). */
function parseOtlpCommon(obj: Raw, path: string, batchBytes: number): OtlpExporterCommon {
  // 4 MiB is what gRPC servers (the OpenTelemetry Collector's included) accept by default.
  const maxMessage = int(obj, 'max_message_bytes', path, 4 * MiB, 1024, 1024 * MiB);
  const batchPath = join(path, 'batch');
  const batchRaw = section(obj.batch, batchPath, ['max_records', 'max_bytes', 'delay_ms']);
  const retryPath = join(path, 'retry');
  const retryRaw = section(obj.retry, retryPath, ['initial_ms', 'max_ms', 'max_elapsed_ms']);
  const tlsPath = join(path, 'tls');
  const tlsRaw = obj.tls === undefined || obj.tls === null ? null : section(obj.tls, tlsPath, ['ca_file', 'cert_file', 'key_file', 'server_name']);
  const file = (raw: Raw, key: string): string | null => (raw[key] === undefined || raw[key] === null ? null : resolve(str(raw, key, tlsPath, '')));
  const tls = tlsRaw === null ? null : { ca_file: file(tlsRaw, 'ca_file'), cert_file: file(tlsRaw, 'cert_file'), key_file: file(tlsRaw, 'key_file'), server_name: tlsRaw.server_name === undefined ? null : str(tlsRaw, 'server_name', tlsPath, '') };
  if (tls !== null && (tls.cert_file === null) !== (tls.key_file === null)) {
    throw new ConfigError(`${tlsPath}: cert_file and key_file go together (a client certificate needs its key)`);
  }
  const headers = obj.headers ?? {};
  if (typeof headers !== 'object' || Array.isArray(headers) || Object.values(headers as Raw).some((v) => typeof v !== 'string')) {
    throw bad('a mapping of header names to strings', join(path, 'headers'), headers);
  }
  const initial = int(retryRaw, 'initial_ms', retryPath, 500, 1, 3_600_000);
  return {
    tls,
    connections: int(obj, 'connections', path, 2, 1, 64),
    max_in_flight: int(obj, 'max_in_flight', path, 4, 1, 256),
    headers: Object.fromEntries(Object.entries(headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
    timeout_ms: int(obj, 'timeout_ms', path, 10_000, 1, 3_600_000),
    max_message_bytes: maxMessage,
    compression: oneOf(obj, 'compression', path, ['none', 'gzip'] as const, 'none'),
    batch: {
      max_records: int(batchRaw, 'max_records', batchPath, 8192, 1, 10_000_000),
      max_bytes: int(batchRaw, 'max_bytes', batchPath, Math.min(batchBytes, maxMessage), 1024, maxMessage),
      delay_ms: int(batchRaw, 'delay_ms', batchPath, 200, 0, 60_000),
    },
    retry: {
      initial_ms: initial,
      max_ms: int(retryRaw, 'max_ms', retryPath, 30_000, initial, 3_600_000),
      max_elapsed_ms: int(retryRaw, 'max_elapsed_ms', retryPath, 0, 0, 7 * 24 * 3_600_000),
    },
  };
}

function parseHttpEndpoint(raw: unknown, path: string): string {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw bad('an http:// or https:// URL', path, raw);
  }
  if (typeof raw !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw bad('an http:// or https:// URL', path, raw);
  // As the OpenTelemetry SDKs do: a bare origin means the standard logs path.
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
  return url.toString();
}

/** The Kubernetes downward API variables a pod spec conventionally sets (docs/configuration.md). */
const K8S_ENV_DEFAULT: Record<string, string> = {
  K8S_POD_NAME: 'k8s.pod.name',
  K8S_POD_UID: 'k8s.pod.uid',
  K8S_NAMESPACE_NAME: 'k8s.namespace.name',
  K8S_NODE_NAME: 'k8s.node.name',
  K8S_CONTAINER_NAME: 'k8s.container.name',
};

function parseEnrich(raw: unknown): EnrichConfig {
  const obj = section(raw, 'enrich', ['host_name', 'service_instance_id', 'k8s_env', 'attributes', 'override']);
  const mapping = (key: string, valid: (v: unknown) => boolean, expected: string): Raw | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every(valid)) throw bad(expected, `enrich.${key}`, v);
    return v as Raw;
  };
  const k8sEnv = mapping('k8s_env', (v) => typeof v === 'string' && v.length > 0, 'a mapping of environment variable names to attribute keys');
  const attributes = mapping('attributes', (v) => ['string', 'number', 'boolean'].includes(typeof v), 'a mapping of attribute keys to strings, numbers or booleans');
  return {
    host_name: bool(obj, 'host_name', 'enrich', true),
    service_instance_id: bool(obj, 'service_instance_id', 'enrich', true),
    k8s_env: (k8sEnv ?? K8S_ENV_DEFAULT) as Record<string, string>,
    attributes: (attributes ?? {}) as Record<string, string | number | boolean>,
    override: bool(obj, 'override', 'enrich', false),
  };
}

function bool(obj: Raw, key: string, path: string, dflt: boolean): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw bad('true or false', join(path, key), v);
  return v;
}

function parseMetrics(raw: unknown): Config['metrics'] {
  const obj = section(raw, 'metrics', ['enabled', 'listen', 'insecure', 'child_timeout_ms', 'refusing_window_ms']);
  const listen = parseListen(obj.listen ?? '127.0.0.1:9464', 'metrics.listen');
  if (listen.kind !== 'tcp') throw bad('"host:port" (an HTTP endpoint for Prometheus and probes)', 'metrics.listen', obj.listen);
  const insecure = bool(obj, 'insecure', 'metrics', false);
  if (!insecure && !isLoopback(listen.host)) {
    throw new ConfigError(`metrics.listen ${formatListen(listen)} is not a loopback address; the endpoint is plaintext HTTP, so binding it elsewhere needs metrics.insecure: true`);
  }
  return {
    enabled: bool(obj, 'enabled', 'metrics', true),
    listen: { host: listen.host, port: listen.port },
    insecure,
    child_timeout_ms: int(obj, 'child_timeout_ms', 'metrics', 500, 10, 60_000),
    refusing_window_ms: int(obj, 'refusing_window_ms', 'metrics', 10_000, 1000, 3_600_000),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A receiver's addresses and TLS; plaintext on a non-loopback address only with `insecure: true`. */
function listenerSection(raw: Raw, path: string, dflt: string[]): { listen: ListenAddress[]; tls: TlsConfig | null } {
  const entries = raw.listen ?? dflt;
  if (!Array.isArray(entries)) throw bad('a list of "host:port" or "unix:PATH"', `${path}.listen`, entries);
  const listen = entries.map((entry, i) => parseListen(entry, `${path}.listen[${i}]`));
  const tls = raw.tls === undefined || raw.tls === null ? null : parseTlsConfig(raw.tls, `${path}.tls`);
  checkPlaintextListeners(listen, path, tls !== null, bool(raw, 'insecure', path, false));
  return { listen, tls };
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

function optInt(obj: Raw, key: string, path: string, min: number, max: number): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : int(obj, key, path, 0, min, max);
}

function num(obj: Raw, key: string, path: string, dflt: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`a number from ${min} to ${max}`, join(path, key), v);
  return v;
}

function oneOf<T extends string>(obj: Raw, key: string, path: string, allowed: readonly T[], dflt: T | undefined): T {
  const v = obj[key];
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw bad(`one of ${allowed.join(', ')}`, join(path, key), v);
  return v as T;
}

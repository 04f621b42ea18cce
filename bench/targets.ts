/**
 * The receivers a run measures, behind one interface: the no-op baseline (one process); the
 * real engine (supervisor, N ingest workers, one exporter, the vault) on a private data_dir
 * and tmpfs ring dir with its file exporter (`engine`), forwarding over OTLP/gRPC to a
 * counting no-op sink (`green`), or with every request forced to the vault (`red`). Each is
 * a fresh process tree per run, so no run inherits another's heap, JIT state or ring contents.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitWithin, followLines, freePort, ROOT, spawnNode, type Exit } from './child-io';
import { scanSegment } from '../src/vault/segment-reader';
import { listSegments } from '../src/vault/vault-dir';
import { listTree } from './proc-tree';
import type { BenchTarget } from './settings';
import { startRedEngine } from './red-engine';

export type TargetKind = BenchTarget;

export interface Target {
  readonly kind: TargetKind;
  /** Root of the process tree. */
  readonly pid: number;
  readonly port: number;
  /** The processes that accept the generator's connections. */
  listenerPids(): number[];
  /** Names the tree's processes (supervisor, ingest-0, export-0, ...) for the CPU breakdown. */
  processNames(): Map<number, string>;
  /** Warnings, errors and unexpected output seen so far: anything here deserves a look. */
  readonly notes: string[];
  /** SIGTERM, then the exit; a tree still alive after the bound is SIGKILLed and noted. */
  stop(): Promise<Exit>;
  /** Engine only, after exit: lines (one per request) the file exporter wrote. */
  exportedRequests?(): number;
  /** Engine only, after exit: requests the vault holds (spilled there when a green ring was full). */
  vaultedRequests?(): number;
  /** Green only, after exit: log records the sink received. */
  exportedLogs?(): number;
  /** Green only, after exit: the sink's CPU seconds (its whole life), not part of the tree. */
  sinkCpuS?(): number;
  /** Kills whatever still runs and removes the run's directories. */
  cleanup(): void;
}

const MiB = 1024 * 1024;
const READY_TIMEOUT_MS = 30_000;
/** The engine drains its rings to the file before exiting; this bounds that. */
const ENGINE_SHUTDOWN_MS = 120_000;
const STOP_MARGIN_MS = 30_000;
const BASELINE_STOP_MS = 10_000;
/** What `npx gophership` runs, so that the bench follows the CLI wherever it moves. */
const GOPHERSHIP_BIN = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { gophership: string } }).bin.gophership;

export async function startBaseline(args: readonly string[] = []): Promise<Target> {
  const child = spawnNode(join(ROOT, 'dist/bench/noop-receiver.js'), args);
  const notes: string[] = [];
  followLines(child.stderr!, (line) => notes.push(`stderr: ${line}`));
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    followLines(child.stdout!, (line) => {
      lines.push(line);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`noop receiver exited (code ${code}) before listening: ${notes.join(' | ')}`)));
  });
  return {
    kind: 'baseline',
    pid: child.pid!,
    port,
    listenerPids: () => [child.pid!],
    processNames: () => new Map([[child.pid!, 'receiver']]),
    notes,
    stop: () => stopTree(child, BASELINE_STOP_MS, notes),
    exportedLogs: () => sinkCount(lines).logs,
    sinkCpuS: () => sinkCount(lines).cpu_s,
    cleanup: () => killTree(child),
  };
}

/** What the counting sink printed as it closed (noop-receiver --count). */
function sinkCount(lines: readonly string[]): { logs: number; cpu_s: number } {
  const last = lines.length > 1 ? (JSON.parse(lines[lines.length - 1]) as { logs?: number; cpu_s?: number }) : {};
  return { logs: last.logs ?? 0, cpu_s: last.cpu_s ?? 0 };
}

export type LogLine = Record<string, unknown> & { msg: string; level: string };

/** An engine process tree started by launchEngine, before it is wrapped for a benchmark. */
export interface LaunchedEngine {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly port: number;
  readonly notes: string[];
  /** Every structured log line so far. */
  readonly logs: readonly LogLine[];
  /** Resolves with the first line, past or future, that matches (rejects after timeoutMs). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  /** Each child's latest pid by name. */
  childPids(): Map<string, number>;
  /** SIGTERM, then the exit within shutdownMs (then SIGKILL of the tree, noted). */
  stop(shutdownMs: number): Promise<Exit>;
  cleanup(): void;
}

/**
 * Starts `gophership run` on a private data_dir under var/ and ring dir under /dev/shm, with
 * the config `configFor` builds for them, and resolves once it says "engine ready".
 */
export async function launchEngine(prefix: string, configFor: (dir: string, ringDir: string, port: number) => object, cgroup?: string): Promise<LaunchedEngine> {
  const dir = mkdtempSync(join(ROOT, 'var', `${prefix}-`));
  const ringDir = mkdtempSync(`/dev/shm/gs-${prefix}-rings-`);
  const port = await freePort();
  const configPath = join(dir, 'gophership.yaml');
  // A free port for the metrics endpoint too: 9464 may be another engine's.
  const config = { metrics: { listen: `127.0.0.1:${await freePort()}` }, ...configFor(dir, ringDir, port) };
  // JSON is YAML: no serializer needed.
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawnNode(join(ROOT, GOPHERSHIP_BIN), ['run', '--config', configPath], cgroup);

  const notes: string[] = [];
  const logs: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> => {
    const seen = logs.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`no matching engine log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: LogLine): void => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(line);
      };
      listeners.add(listener);
    });
  };
  const cleanup = (): void => {
    killTree(child);
    rmSync(dir, { recursive: true, force: true });
    rmSync(ringDir, { recursive: true, force: true });
  };
  followLines(child.stdout!, (line) => notes.push(`stdout: ${line}`));
  const ready = new Promise<void>((resolve, reject) => {
    followLines(child.stderr!, (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        notes.push(`stderr (not JSON): ${text}`);
        return;
      }
      logs.push(line);
      for (const listener of [...listeners]) listener(line);
      if (line.level === 'warn' || line.level === 'error') notes.push(text);
      if (line.msg === 'engine ready') resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`engine exited (code ${code}, signal ${signal}) before "engine ready": ${notes.join(' | ')}`)));
    setTimeout(() => reject(new Error(`engine not ready within ${READY_TIMEOUT_MS} ms: ${notes.join(' | ')}`)), READY_TIMEOUT_MS).unref();
  });
  try {
    await ready;
  } catch (err) {
    cleanup();
    throw err;
  }
  return { child, dir, port, notes, logs, waitForLog, childPids: () => childPids(logs), stop: (ms) => stopTree(child, ms, notes), cleanup };
}

export function startTarget(kind: TargetKind, workers: number, ringMib: number): Promise<Target> {
  switch (kind) {
    case 'baseline':
      return startBaseline();
    case 'engine':
      return startEngine(workers, ringMib);
    case 'green':
      return startGreenEngine(workers, ringMib);
    case 'red':
      return startRedTarget(workers, ringMib);
  }
}

export async function startEngine(workers: number, ringMib: number): Promise<Target> {
  // No rotation, so that every line is still there to be counted after the run.
  return engineTarget('engine', workers, ringMib, (dir) => [{ type: 'file', path: join(dir, 'out', 'logs.jsonl'), max_bytes: Number.MAX_SAFE_INTEGER, max_files: 0 }]);
}

/**
 * The Green forwarding path: OTLP/gRPC in, enrichment by splicing, OTLP/gRPC out to a
 * counting no-op receiver in a process of its own (not part of the measured tree; its CPU
 * is reported apart).
 */
async function startGreenEngine(workers: number, ringMib: number): Promise<Target> {
  const sink = await startBaseline(['--count']);
  let engine: Target;
  try {
    engine = await engineTarget('green', workers, ringMib, () => [{ type: 'otlp_grpc', endpoint: `127.0.0.1:${sink.port}` }]);
  } catch (err) {
    sink.cleanup();
    throw err;
  }
  return {
    ...engine,
    notes: engine.notes,
    async stop() {
      const exit = await engine.stop();
      await sink.stop();
      engine.notes.push(...sink.notes);
      return exit;
    },
    exportedRequests: undefined,
    exportedLogs: sink.exportedLogs,
    sinkCpuS: sink.sinkCpuS,
    cleanup() {
      engine.cleanup();
      sink.cleanup();
    },
  };
}

/** The Red path as bench:red runs it (bench/red-engine.ts): every request to the vault. */
async function startRedTarget(workers: number, ringMib: number): Promise<Target> {
  const red = await startRedEngine(workers, ringMib);
  const names = (): Map<number, string> => red.processNames();
  return {
    kind: 'red',
    pid: red.pid,
    port: red.port,
    listenerPids: () => [...names()].filter(([, name]) => name.startsWith('ingest-')).map(([pid]) => pid),
    processNames: names,
    notes: red.notes,
    stop: () => red.stop(),
    exportedRequests: () => 0,
    vaultedRequests: () => red.vaultContents().records,
    cleanup: red.cleanup,
  };
}

async function engineTarget(kind: 'engine' | 'green', workers: number, ringMib: number, exporters: (dir: string) => object[]): Promise<Target> {
  const engine = await launchEngine(`bench-${kind}`, (dir, ringDir, port) => ({
    data_dir: dir,
    ingest: { workers, otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir, green_bytes: ringMib * MiB },
    exporters: exporters(dir),
    supervisor: { shutdown_timeout_ms: ENGINE_SHUTDOWN_MS },
  }));
  const { child, notes } = engine;
  return {
    kind,
    pid: child.pid!,
    port: engine.port,
    listenerPids: () => [...engine.childPids()].filter(([name]) => name.startsWith('ingest-')).map(([, pid]) => pid),
    processNames: () => new Map([[child.pid!, 'supervisor'], ...[...engine.childPids()].map(([name, pid]): [number, string] => [pid, name])]),
    notes,
    stop: () => engine.stop(ENGINE_SHUTDOWN_MS + STOP_MARGIN_MS),
    exportedRequests: () => countInFiles(join(engine.dir, 'out'), '\n'),
    vaultedRequests: () => listSegments(join(engine.dir, 'vault')).reduce((sum, segment) => sum + scanSegment(segment.path).records, 0),
    cleanup: engine.cleanup,
  };
}

/** Each child's latest pid by name, in name order: a restarted child has a new pid. */
function childPids(logs: readonly LogLine[]): Map<string, number> {
  const byChild = new Map<string, number>();
  for (const l of logs) if (l.msg === 'child ready') byChild.set(String(l.child), l.childPid as number);
  return new Map([...byChild].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

async function stopTree(child: ChildProcess, timeoutMs: number, notes: string[]): Promise<Exit> {
  const pids = listTree(child.pid!);
  child.kill('SIGTERM');
  const exit = await exitWithin(child, timeoutMs);
  if (exit !== undefined) return exit;
  notes.push(`did not exit within ${timeoutMs} ms of SIGTERM; SIGKILLed pids ${pids.join(',')}`);
  for (const pid of pids) signal(pid, 'SIGKILL');
  return (await exitWithin(child, 5000)) ?? { code: null, signal: 'SIGKILL', epochMs: Date.now() };
}

function killTree(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  for (const pid of listTree(child.pid!)) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Newlines in every file of `dir`: the file exporter writes one line per request. */
/** Occurrences of `token` in every file of `dir` (none without the directory), read 8 MiB at a time. */
export function countInFiles(dir: string, token: string): number {
  // The exporter creates the directory when it opens its file; no directory, nothing landed.
  if (!existsSync(dir)) return 0;
  const needle = Buffer.from(token);
  const buffer = Buffer.alloc(8 * MiB);
  let count = 0;
  for (const name of readdirSync(dir)) {
    const fd = openSync(join(dir, name), 'r');
    try {
      // Keep the last token-length-1 bytes of each read, so that a token cut by a read is found.
      let kept = 0;
      for (let n = readSync(fd, buffer, kept, buffer.length - kept, null); n > 0; n = readSync(fd, buffer, kept, buffer.length - kept, null)) {
        const filled = buffer.subarray(0, kept + n);
        for (let i = filled.indexOf(needle); i !== -1; i = filled.indexOf(needle, i + needle.length)) count++;
        kept = Math.min(needle.length - 1, filled.length);
        filled.copy(buffer, 0, filled.length - kept);
      }
    } finally {
      closeSync(fd);
    }
  }
  return count;
}

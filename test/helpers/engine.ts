/**
 * Starts the real engine (`gophership run`) as a separate process tree on a private
 * data_dir, ring dir and free ports, and follows its structured log on stderr so that
 * tests wait on events ("engine ready", "child ready") instead of sleeping.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, stringify } from 'yaml';
// One implementation for the bench and the tests, which both start engines on free ports.
import { freePort, spawnNodeIn } from '../../bench/child-io';

export const ROOT = join(__dirname, '../../..');
export const GOPHERSHIP = join(ROOT, 'dist/src/supervisor/cli.js');

export type LogLine = Record<string, unknown> & { msg: string; component: string };

export interface Engine {
  process: ChildProcess;
  dir: string;
  ringDir: string;
  grpcPort: number;
  grpcSocket: string;
  /** The supervisor's HTTP endpoint (/metrics, /healthz, /readyz) on 127.0.0.1. */
  metricsPort: number;
  httpPort: number;
  linesPort: number;
  linesSocket: string;
  outputPath: string;
  configPath: string;
  logs: LogLine[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  /** The pid of the child's latest incarnation, once it has reported ready. */
  childPid(name: string): Promise<number>;
  /** Signals the supervisor (SIGTERM by default) and waits; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Starts a new engine on the same data_dir and rings (this one must be gone), with the same
   * configuration or with `overrides` merged into it.
   */
  relaunch(overrides?: Record<string, unknown>): Promise<Engine>;
  /** Stops the engine if it still runs and removes its directories. */
  cleanup(): Promise<void>;
}

/** A fresh directory under the repo's var/ (ext4 here; tmpdir may be tmpfs elsewhere). */
export function scratchDir(prefix: string): string {
  mkdirSync(join(ROOT, 'var'), { recursive: true });
  return mkdtempSync(join(ROOT, 'var', prefix));
}


export interface LaunchOptions {
  /** A cgroup directory the supervisor joins before it forks any child. */
  cgroup?: string;
  /**
   * The log line that says the engine is up, `engine ready` (every child ready) by default;
   * an engine with a child that never starts waits for another.
   */
  readyWhen?: (line: LogLine) => boolean;
}

export async function startEngine(overrides: Record<string, unknown> = {}, options: LaunchOptions = {}): Promise<Engine> {
  const dir = scratchDir('test-engine-');
  const ringDir = mkdtempSync('/dev/shm/gs-test-rings-');
  const grpcPort = await freePort();
  const grpcSocket = join(dir, 'otlp-grpc.sock');
  const metricsPort = await freePort();
  const httpPort = await freePort();
  const linesPort = await freePort();
  const linesSocket = join(dir, 'lines.sock');
  const outputPath = join(dir, 'out', 'logs.jsonl');
  const config = {
    data_dir: dir,
    ingest: {
      workers: 2,
      otlp_grpc: { listen: [`127.0.0.1:${grpcPort}`, `unix:${grpcSocket}`] },
      otlp_http: { listen: [`127.0.0.1:${httpPort}`] },
      lines: { listen: [`127.0.0.1:${linesPort}`, `unix:${linesSocket}`] },
    },
    rings: { dir: ringDir, green_bytes: 64 * 1024 * 1024 },
    exporters: [{ type: 'file', path: outputPath }],
    supervisor: { restart_backoff_min_ms: 50, shutdown_timeout_ms: 20_000 },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  };
  merge(config, overrides);
  const configPath = join(dir, 'gophership.yaml');
  writeFileSync(configPath, stringify(config));
  return launch({ dir, ringDir, grpcPort, grpcSocket, metricsPort, httpPort, linesPort, linesSocket, outputPath, configPath }, options);
}

/** Overrides replace values and lists, and merge into sections key by key. */
function merge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const current = into[key];
    if (isSection(current) && isSection(value)) merge(current, value);
    else into[key] = value;
  }
}

function isSection(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where an engine keeps its files: fixed at the first start, reused by relaunch(). */
type Layout = Pick<Engine, 'dir' | 'ringDir' | 'grpcPort' | 'grpcSocket' | 'metricsPort' | 'httpPort' | 'linesPort' | 'linesSocket' | 'outputPath' | 'configPath'>;

async function launch(layout: Layout, options: LaunchOptions): Promise<Engine> {
  const { dir, ringDir, grpcPort, grpcSocket, metricsPort, httpPort, linesPort, linesSocket, outputPath, configPath } = layout;
  const child = spawnNodeIn(options.cgroup, GOPHERSHIP, ['run', '--config', configPath], { stdio: ['ignore', 'inherit', 'pipe'] });

  const { logs, waitForLog, exited } = followLog(child);

  const engine: Engine = {
    process: child,
    dir,
    ringDir,
    grpcPort,
    grpcSocket,
    metricsPort,
    httpPort,
    linesPort,
    linesSocket,
    outputPath,
    configPath,
    logs,
    waitForLog,
    async childPid(name) {
      await waitForLog((l) => l.msg === 'child ready' && l.child === name);
      const ready = [...logs].reverse().find((l) => l.msg === 'child ready' && l.child === name);
      return ready!.childPid as number;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
    relaunch(overrides = {}) {
      const config = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      merge(config, overrides);
      writeFileSync(configPath, stringify(config));
      return launch(layout, options);
    },
    async cleanup() {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(ringDir, { recursive: true, force: true });
    },
  };
  await waitForLog(options.readyWhen ?? ((l) => l.msg === 'engine ready'));
  return engine;
}

export interface FollowedLog {
  logs: LogLine[];
  /** Resolves with the first log line (past or future) that matches; rejects if the engine exits first. */
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  /** Resolves with [code, signal] when the engine process exits. */
  exited: Promise<unknown[]>;
}

/** Follows an engine's structured log on its stderr (spawned with stderr piped). */
export function followLog(child: ChildProcess): FollowedLog {
  const logs: LogLine[] = [];
  const waiters: Array<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const exited = once(child, 'exit');
  createInterface({ input: child.stderr! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      process.stderr.write(`engine (not JSON): ${text}\n`);
      return;
    }
    logs.push(line);
    if (line.level === 'error' || line.level === 'warn') process.stderr.write(`engine: ${text}\n`);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].predicate(line)) waiters.splice(i, 1)[0].resolve(line);
    }
  });

  const waitForLog = (predicate: (line: LogLine) => boolean): Promise<LogLine> => {
    const found = logs.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve });
      exited.then(([code, signal]) => reject(new Error(`engine exited (code ${code}, signal ${signal}) before the awaited log line`)));
    });
  };

  return { logs, waitForLog, exited };
}

/**
 * The engine as the Red path benchmark runs it: every request forced to the red rings and
 * the vault (`zones.force: red`), in a private data_dir under var/ (so that the vault's
 * segments land on the filesystem the dd baseline writes to) and a private /dev/shm ring
 * dir. bench/targets.ts's startEngine has a fixed green-path config, hence this starter;
 * the process plumbing (spawn, line following, bounded waits) is the shared child-io.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitWithin, followLines, freePort, ROOT, spawnNode, type Exit } from './child-io';
import { listTree } from './proc-tree';
import { scanSegment } from '../src/vault/segment-reader';
import { listSegments } from '../src/vault/vault-dir';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const READY_TIMEOUT_MS = 30_000;
/** Draining 2 × 256 MiB of red ring to disk takes seconds; this only bounds a hang. */
const SHUTDOWN_MS = 120_000;
const KILL_WAIT_MS = 5000;
/** Room for the 10 GB page-cache run and more; the default 10 GiB would refuse it. */
const VAULT_MAX_BYTES = 64 * GiB;
const GOPHERSHIP_BIN = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { gophership: string } }).bin.gophership;

type LogLine = Record<string, unknown> & { msg: string; level: string };

export interface RedEngine {
  readonly pid: number;
  readonly port: number;
  readonly vaultDir: string;
  /** Warnings, errors and unexpected output of the engine, verbatim. */
  readonly notes: string[];
  processNames(): Map<number, string>;
  /** SIGTERM, then the exit (SIGKILL of the tree after SHUTDOWN_MS, noted). */
  stop(): Promise<Exit>;
  /** After exit: what the vault holds, read back record by record. */
  vaultContents(): VaultContents;
  /** Kills whatever still runs and removes the data_dir and the ring dir. */
  cleanup(): void;
}

export interface VaultContents {
  segments: number;
  fileBytes: number;
  records: number;
  corruptSkipped: number;
  tornSegments: number;
}

export async function startRedEngine(workers: number, redRingMib: number): Promise<RedEngine> {
  const dir = mkdtempSync(join(ROOT, 'var', 'bench-red-'));
  const ringDir = mkdtempSync('/dev/shm/gs-bench-red-');
  const vaultDir = join(dir, 'vault');
  const port = await freePort();
  const config = {
    data_dir: dir,
    ingest: { workers, otlp_grpc: { listen: [`127.0.0.1:${port}`] } },
    rings: { dir: ringDir, red_bytes: redRingMib * MiB },
    vault: { dir: vaultDir, max_bytes: VAULT_MAX_BYTES },
    zones: { force: 'red' },
    supervisor: { shutdown_timeout_ms: SHUTDOWN_MS },
  };
  const configPath = join(dir, 'gophership.yaml');
  // JSON is YAML.
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawnNode(join(ROOT, GOPHERSHIP_BIN), ['run', '--config', configPath]);

  const notes: string[] = [];
  const childPids = new Map<string, number>();
  const killTree = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    for (const pid of listTree(child.pid!)) signal(pid, 'SIGKILL');
  };
  const cleanup = (): void => {
    killTree();
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
      if (line.level === 'warn' || line.level === 'error') notes.push(text);
      if (line.msg === 'child ready') childPids.set(String(line.child), line.childPid as number);
      if (line.msg === 'engine ready') resolve();
    });
    child.once('exit', (code, sig) => reject(new Error(`engine exited (code ${code}, signal ${sig}) before "engine ready": ${notes.join(' | ')}`)));
    setTimeout(() => reject(new Error(`engine not ready within ${READY_TIMEOUT_MS} ms: ${notes.join(' | ')}`)), READY_TIMEOUT_MS).unref();
  });
  try {
    await ready;
  } catch (err) {
    cleanup();
    throw err;
  }

  return {
    pid: child.pid!,
    port,
    vaultDir,
    notes,
    processNames: () => new Map([[child.pid!, 'supervisor'], ...[...childPids].map(([name, pid]): [number, string] => [pid, name])]),
    async stop() {
      const pids = listTree(child.pid!);
      child.kill('SIGTERM');
      const exit = await exitWithin(child, SHUTDOWN_MS);
      if (exit !== undefined) return exit;
      notes.push(`did not exit within ${SHUTDOWN_MS} ms of SIGTERM; SIGKILLed pids ${pids.join(',')}`);
      for (const pid of pids) signal(pid, 'SIGKILL');
      return (await exitWithin(child, KILL_WAIT_MS)) ?? { code: null, signal: 'SIGKILL', epochMs: Date.now() };
    },
    vaultContents: () => readVault(vaultDir),
    cleanup,
  };
}

function readVault(dir: string): VaultContents {
  const contents: VaultContents = { segments: 0, fileBytes: 0, records: 0, corruptSkipped: 0, tornSegments: 0 };
  for (const segment of listSegments(dir)) {
    const scan = scanSegment(segment.path);
    contents.segments++;
    contents.fileBytes += scan.fileBytes;
    contents.records += scan.records;
    contents.corruptSkipped += scan.corruptSkipped;
    if (scan.tail === 'torn') contents.tornSegments++;
  }
  return contents;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * The engine as the Red path benchmark runs it: every request forced to the red rings and
 * the vault (`zones.force: red`), in a private data_dir under var/ (so that the vault's
 * segments land on the filesystem the dd baseline writes to) and a private /dev/shm ring
 * dir. It is launched by bench/targets.ts's launchEngine with a config of its own.
 */
import { join } from 'node:path';
import type { Exit } from './child-io';
import { launchEngine } from './targets';
import { scanSegment } from '../src/vault/segment-reader';
import { listSegments } from '../src/vault/vault-dir';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Draining 2 × 256 MiB of red ring to disk takes seconds; this only bounds a hang. */
const SHUTDOWN_MS = 120_000;
/** Room for the 10 GB page-cache run and more; the default 10 GiB would refuse it. */
const VAULT_MAX_BYTES = 64 * GiB;

export interface RedEngine {
  readonly pid: number;
  readonly port: number;
  readonly vaultDir: string;
  /** Warnings, errors and unexpected output of the engine, verbatim. */
  readonly notes: string[];
  processNames(): Map<number, string>;
  /** SIGTERM, then the exit (SIGKILL of the tree after SHUTDOWN_MS, noted). */
  stop(): Promise<Exit>;
  /** After exit: the vault's event-loop delay from its first batch to its exit, as it logged it. */
  vaultLoopDelay(): LoopDelay | undefined;
  /** After exit: what the vault holds, read back record by record. */
  vaultContents(): VaultContents;
  /** Kills whatever still runs and removes the data_dir and the ring dir. */
  cleanup(): void;
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface VaultContents {
  segments: number;
  fileBytes: number;
  records: number;
  corruptSkipped: number;
  tornSegments: number;
}

export async function startRedEngine(workers: number, redRingMib: number): Promise<RedEngine> {
  const engine = await launchEngine('bench-red', (dir, ringDir, port) => ({
    data_dir: dir,
    // No OTLP/HTTP or lines listeners: their default ports may be another engine's on a shared machine.
    ingest: { workers, otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir, red_bytes: redRingMib * MiB },
    vault: { max_bytes: VAULT_MAX_BYTES },
    zones: { force: 'red' },
    supervisor: { shutdown_timeout_ms: SHUTDOWN_MS },
  }));
  const { child, notes } = engine;
  const vaultDir = join(engine.dir, 'vault');
  return {
    pid: child.pid!,
    port: engine.port,
    vaultDir,
    notes,
    processNames: () => new Map([[child.pid!, 'supervisor'], ...[...engine.childPids()].map(([name, pid]): [number, string] => [pid, name])]),
    stop: () => engine.stop(SHUTDOWN_MS),
    vaultLoopDelay: () => engine.logs.find((line) => line.msg === 'vault event-loop delay') as (LoopDelay & { msg: string }) | undefined,
    vaultContents: () => readVault(vaultDir),
    cleanup: engine.cleanup,
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

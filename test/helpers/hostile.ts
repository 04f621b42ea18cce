/**
 * Another local user for the hostile-actor tests: commands run as uid/gid 65534 (nobody)
 * through setpriv, which only root may do. Tests that need it skip without root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { freePort } from '../../bench/child-io';
import { GOPHERSHIP } from './engine';

export const NOBODY = 65534;
const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

export const isRoot = process.getuid?.() === 0;

/** Runs a shell command as nobody; returns its exit status and output. */
export function asNobody(command: string): { status: number | null; output: string } {
  const run = spawnSync('setpriv', [...AS_NOBODY, 'sh', '-c', command], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Argv that runs `argv` as nobody. */
export function nobodyArgv(argv: readonly string[]): string[] {
  return ['setpriv', ...AS_NOBODY, ...argv];
}

export interface FailedStart {
  code: number | null;
  stderr: string;
  /** The "engine failed to start" line. */
  failed: string;
}

/** Runs `gophership run` on a config that must not start; resolves once it has exited. */
export async function startThatFails(configPath: string, config: Record<string, unknown>): Promise<FailedStart> {
  writeFileSync(configPath, stringify(config));
  const engine = spawn(process.execPath, [GOPHERSHIP, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  engine.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(engine, 'exit')) as [number | null];
  return { code, stderr, failed: stderr.split('\n').find((line) => line.includes('"msg":"engine failed to start"')) ?? '' };
}

/** Whether `file` holds `text` anywhere (grep -a). */
export function holds(file: string, text: string): boolean {
  try {
    return readFileSync(file).includes(text);
  } catch {
    return false;
  }
}

/** Ingest listeners on free loopback ports, so a start is never refused for a port in use. */
export async function freeListeners(): Promise<Record<string, unknown>> {
  return {
    otlp_grpc: { listen: [`127.0.0.1:${await freePort()}`] },
    otlp_http: { listen: [`127.0.0.1:${await freePort()}`] },
    lines: { listen: [`127.0.0.1:${await freePort()}`] },
  };
}

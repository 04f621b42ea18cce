/**
 * Starting the benchmark's Node processes and waiting on them with a bound, so that a
 * receiver that hangs makes the run report it instead of hanging the run.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The package root, from dist/bench/ where this runs. */
export const ROOT = join(__dirname, '../..');

export function spawnNode(script: string, args: readonly string[], cgroup?: string): ChildProcess {
  return spawnNodeIn(cgroup, script, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts a Node script inside a cgroup (or as is, without one): a shell joins the cgroup and
 * then becomes the process, so that it and every child it forks are born inside.
 */
export function spawnNodeIn(cgroup: string | undefined, script: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const argv = [process.execPath, script, ...args];
  return cgroup === undefined ? spawn(argv[0], argv.slice(1), options) : spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv], options);
}

/** Calls `onLine` for every line the stream prints. */
export function followLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  createInterface({ input: stream }).on('line', onLine);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Wall clock when the exit was seen. */
  epochMs: number;
}

/** The exit of `child`, or undefined when it has not exited within `timeoutMs`. */
export async function exitWithin(child: ChildProcess, timeoutMs: number): Promise<Exit | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, epochMs: Date.now() };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, epochMs: Date.now() }));
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  return result;
}

/** A port free on 127.0.0.1 right now; the engine binds it itself moments later. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

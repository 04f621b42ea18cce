/**
 * One supervised child (an ingest worker, an exporter or the vault): forks it, restarts it when it dies
 * unexpectedly, and stops it with the same escalation every time: ask over IPC, and SIGKILL
 * what has not exited when the grace period ends. Children ignore SIGTERM (see
 * child-runtime.ts), and SIGKILL loses nothing acknowledged: records are in the rings.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { CHILD_SPEC_ENV, type ChildMessage, type ChildRole, type ChildSpec, type MetricsSnapshot, type SupervisorMessage } from '../common/child-protocol';
import type { Config, EngineConfig } from '../common/config';
import type { Logger } from '../common/log';
import { exporterMallocKeepBytes, semiSpaceMib } from '../common/memory-plan';
import { RestartPolicy } from './restart-policy';

export interface ChildSlotOptions {
  role: ChildRole;
  index: number;
  script: string;
  config: EngineConfig;
  /** fds (listening Unix sockets) passed to the child, by listen address. */
  fds: ReadonlyMap<string, number>;
  log: Logger;
  onReady?: () => void;
  /** Any message other than `ready` (progress, stats, errors for the control plane). */
  onMessage?: (msg: ChildMessage) => void;
}

export class ChildSlot {
  readonly name: string;
  readonly role: ChildRole;
  restarts = 0;
  private child: ChildProcess | undefined;
  /** The incarnation that said `ready`; the slot is ready while it is the running one. */
  private readyChild: ChildProcess | undefined;
  private nextQueryId = 0;
  private readonly metricsQueries = new Map<number, (metrics: MetricsSnapshot | undefined) => void>();
  private startedAt = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly policy: RestartPolicy;

  constructor(private readonly o: ChildSlotOptions) {
    this.name = `${o.role}-${o.index}`;
    this.role = o.role;
    const s = o.config.supervisor;
    this.policy = new RestartPolicy({ minMs: s.restart_backoff_min_ms, maxMs: s.restart_backoff_max_ms, loopRestarts: s.crash_loop_restarts, windowMs: s.crash_loop_window_ms });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The child runs and has reported ready (an ingest worker: it listens). */
  get ready(): boolean {
    return this.child !== undefined && this.child === this.readyChild;
  }

  /**
   * The child's registry (`registry.getMetricsAsJSON()`), or undefined when it is not
   * running or does not answer within timeoutMs: a busy or stuck child never holds up a scrape.
   */
  metrics(timeoutMs: number): Promise<MetricsSnapshot | undefined> {
    const id = ++this.nextQueryId;
    if (!this.send({ type: 'metrics', id })) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(undefined), timeoutMs);
      const answer = (metrics: MetricsSnapshot | undefined): void => {
        clearTimeout(timer);
        this.metricsQueries.delete(id);
        resolve(metrics);
      };
      this.metricsQueries.set(id, answer);
    });
  }

  get index(): number {
    return this.o.index;
  }

  /** How long the running incarnation has been up; 0 while none runs. */
  get uptimeMs(): number {
    return this.child === undefined ? 0 : Date.now() - this.startedAt;
  }

  /** Delivers a control message; false when the child is not running to receive it. */
  send(msg: SupervisorMessage): boolean {
    if (this.child === undefined || !this.child.connected) return false;
    this.child.send(msg);
    return true;
  }

  start(): void {
    const { fds } = this.o;
    // The child sees the handed-down sockets as fds 4, 5, … (0-2 are stdio, 3 is IPC).
    const inheritedFds: Record<string, number> = {};
    let next = 4;
    for (const key of fds.keys()) inheritedFds[key] = next++;
    const spec: ChildSpec = { role: this.o.role, index: this.o.index, config: this.o.config, supervisorPid: process.pid, inheritedFds };
    const child = fork(this.o.script, [], {
      // Part of the engine's memory bound (docs/operations.md): a child over its heap cap dies
      // alone and is restarted, instead of the kernel OOM-killing whatever it picks.
      execArgv: [...process.execArgv, ...heapFlags(heapCapMib(this.o.config, this.o.role))],
      env: { ...process.env, ...roleEnv(this.o.config, this.o.role), [CHILD_SPEC_ENV]: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds.values()],
      serialization: 'json',
    });
    this.child = child;
    this.startedAt = Date.now();
    if (child.pid !== undefined) setOomScoreAdj(child.pid, this.o.role, this.o.log);
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'ready') {
        this.o.log.info('child ready', { child: this.name, childPid: child.pid, restarts: this.restarts });
        this.readyChild = child;
        this.o.onReady?.();
      } else if (msg.type === 'metrics') {
        this.metricsQueries.get(msg.id)?.(msg.metrics);
      } else this.o.onMessage?.(msg);
    });
    child.on('error', (err) => this.o.log.error('child process error', { child: this.name, err }));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    for (const answer of [...this.metricsQueries.values()]) answer(undefined);
    if (this.stopping) return;
    const now = Date.now();
    const { delayMs, crashLoop } = this.policy.onExit(now, now - this.startedAt);
    const fields = { child: this.name, childPid: child.pid, code, signal, restartInMs: delayMs, restarts: this.restarts };
    if (crashLoop) this.o.log.error('child is crash-looping; restarting at the slowest pace', { ...fields, code: 'GS_CHILD_CRASH_LOOP', exitCode: code });
    else this.o.log.warn('child exited unexpectedly; restarting', fields);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.start();
    }, delayMs);
  }

  /** Stops the child and never restarts it; resolves when it is gone. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    if (child.connected) {
      child.send({ type: 'shutdown', graceMs });
      if (await within(exited, graceMs + IPC_SLACK_MS)) return;
    }
    this.o.log.warn('child did not stop in time; sending SIGKILL', { child: this.name, childPid: child.pid, graceMs });
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The young generation scales with the cap (a sixteenth, 1 to 16 MiB a semi-space; 16 is
 * Node's default): with small caps for a small cgroup, a burst of short-lived buffers must
 * not take more than the old space may.
 */
function heapFlags(capMib: number): string[] {
  // --expose-gc: in a memory-Red zone every child collects at once (memory-relief.ts), so its
  // heap shrinks while the engine sheds load instead of whenever V8 gets round to it.
  return [`--max-old-space-size=${capMib}`, `--max-semi-space-size=${semiSpaceMib(capMib)}`, '--expose-gc'];
}

function heapCapMib(config: Config, role: ChildRole): number {
  return role === 'ingest' ? config.ingest.max_heap_mib : role === 'export' ? config.export.max_heap_mib : config.vault.max_heap_mib;
}

/**
 * If the kernel must OOM-kill in our cgroup, it takes the process with the highest score:
 * an exporter first (it holds no acknowledged data of its own: the rings do), then an ingest
 * worker (its clients retry what it had not acknowledged), the vault last, and never the
 * supervisor, which restarts them. Raising a child's score needs no privilege; the
 * supervisor keeps the score the operator started it with (0 unless a unit sets
 * OOMScoreAdjust), and a child never goes below it.
 */
const OOM_SCORE_ADJ: Record<ChildRole, number> = { export: 1000, ingest: 900, vault: 500 };

function setOomScoreAdj(pid: number, role: ChildRole, log: Logger): void {
  try {
    const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.max(own, OOM_SCORE_ADJ[role])));
  } catch (err) {
    // The child may already be gone (its exit is handled), or /proc is not Linux's.
    log.debug('could not set oom_score_adj', { childPid: pid, role, err });
  }
}

/** The child's own grace timer runs from when it reads the message, a little after ours. */
const IPC_SLACK_MS = 500;

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The exporter allocates a multi-MiB buffer per downstream request (grpc-js frames every
 * message into a fresh one). glibc serves those with mmap and trims freed heap eagerly, so
 * each request pays first-touch page faults on MiBs of memory, which in a VM cost more than
 * the copy: with these settings the forwarding stage runs about twice as fast
 * (bench/green-forward.ts, docs/benchmarks.md). Freed heap up to an eighth of the heap cap
 * (at most 64 MiB) is then kept for reuse instead of returned at once, and allocations below
 * half of that come from the heap: part of the memory bound, so it scales with the cap a
 * small cgroup sets. An operator's own GLIBC_TUNABLES wins.
 */
function roleEnv(config: Config, role: ChildRole): Record<string, string> {
  if (role !== 'export' || process.env.GLIBC_TUNABLES !== undefined) return {};
  const keep = exporterMallocKeepBytes(config.export.max_heap_mib);
  return { GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=${keep / 2}:glibc.malloc.trim_threshold=${keep}` };
}

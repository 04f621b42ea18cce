/**
 * The benchmark's knobs, read from the environment only: `npm run bench` passes no
 * arguments, and `BENCH_SECONDS=3 npm run bench` is the one way to change a run. A bad value
 * stops the run before anything starts rather than quietly benchmarking something else.
 */

/** How long the generator waits for answers in flight once the load stops, before cutting the connections. */
export const GENERATOR_DRAIN_GRACE_MS = 10_000;

export type BenchTarget = 'baseline' | 'engine' | 'green' | 'red';
/** Every target, in the order runs and tables show them. */
export const TARGETS: readonly BenchTarget[] = ['baseline', 'engine', 'green', 'red'];

export interface BenchSettings {
  /** Receivers measured in each round, in this order (bench/targets.ts). */
  targets: BenchTarget[];
  /** Log records per request; one series of rounds per value. */
  batches: number[];
  /** Requests in flight per connection. */
  inflight: number;
  connections: number;
  /** Load duration of one run, from the first request. */
  seconds: number;
  /** Optional request count after which a run stops early; undefined means only `seconds`. */
  requests: number | undefined;
  rounds: number;
  /** Ingest worker processes of the engine. */
  workers: number;
  /** Each engine worker's green ring, MiB: what it holds for the exporter before requests spill to the vault. */
  ringMib: number;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  return {
    targets: targetList(env),
    batches: intList(env, 'BENCH_BATCH', [100, 1000], 1, 100_000),
    inflight: int(env, 'BENCH_INFLIGHT', 8, 1, 100),
    connections: int(env, 'BENCH_CONNECTIONS', 4, 1, 256),
    seconds: int(env, 'BENCH_SECONDS', 10, 1, 600),
    requests: env.BENCH_REQUESTS ? parseBounded('BENCH_REQUESTS', env.BENCH_REQUESTS, 1, 100_000_000) : undefined,
    rounds: int(env, 'BENCH_ROUNDS', 3, 1, 100),
    workers: int(env, 'BENCH_WORKERS', 2, 1, 256),
    ringMib: ringMib(env),
  };
}

// The engine wants a power of two of at least twice its 16 MiB default message limit.
function ringMib(env: NodeJS.ProcessEnv): number {
  const value = int(env, 'BENCH_RING_MIB', 256, 64, 1024);
  if ((value & (value - 1)) !== 0) throw new Error(`BENCH_RING_MIB must be a power of two, got ${value}`);
  return value;
}

function targetList(env: NodeJS.ProcessEnv): BenchTarget[] {
  const raw = env.BENCH_TARGETS;
  if (raw === undefined || raw === '') return ['baseline', 'engine'];
  const list = raw.split(',').map((t) => t.trim());
  const bad = list.filter((t) => !TARGETS.includes(t as BenchTarget));
  if (bad.length > 0 || list.length === 0) throw new Error(`BENCH_TARGETS must list some of ${TARGETS.join(', ')}, got ${JSON.stringify(raw)}`);
  return list as BenchTarget[];
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  return raw === undefined || raw === '' ? dflt : parseBounded(name, raw, min, max);
}

function intList(env: NodeJS.ProcessEnv, name: string, dflt: number[], min: number, max: number): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  return raw.split(',').map((part) => parseBounded(name, part.trim(), min, max));
}

function parseBounded(name: string, raw: string, min: number, max: number): number {
  const value = raw === '' ? NaN : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max} (a comma-separated list for BENCH_BATCH), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Turns the runs into what a reader compares: medians per batch size and receiver, the
 * engine/baseline ratio of accepted logs/s, a Markdown table (pasted as is into
 * docs/benchmarks.md), and the raw runs as JSON in bench/out/. Medians, not means: the
 * machines are shared, and one disturbed run must not move the headline.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './child-io';
import type { GeneratorResult } from './load-generator';
import { TARGETS, type BenchSettings } from './settings';
import type { TargetKind } from './targets';

const LABELS: Record<TargetKind, string> = {
  baseline: 'no-op baseline (1 process)',
  engine: 'engine, file exporter',
  green: 'engine, OTLP/gRPC to a no-op sink',
  red: 'engine, zones.force: red',
};

export interface RunResult {
  target: TargetKind;
  batch: number;
  round: number;
  generator: GeneratorResult;
  logs_per_s: number;
  mb_per_s: number;
  /** Accepted logs/s up to the first refusal (a worker's rings full), or over the whole run when none. */
  logs_per_s_until_full: number;
  /** Accepted logs/s from the first refusal to the end: what gets through as the drains free ring space. */
  logs_per_s_after_full?: number;
  first_refusal_s?: number;
  /** Of the requests answered. */
  refused_pct: number;
  /** Receiver tree CPU over the load window (from just before the generator started to its end). */
  receiver_cpu_s: number;
  receiver_cores: number;
  receiver_cores_by_process: Record<string, number>;
  cpu_us_per_log: number;
  /** Sum over the tree of each process's VmHWM. */
  peak_rss_mib: number;
  peak_rss_mib_by_process: Record<string, number>;
  /** Largest RssAnon of each process over the samples: its heap and buffers, without the shared rings. */
  max_anon_mib_by_process: Record<string, number>;
  /** Largest sum of VmRSS over the 100 ms samples; shared ring pages count once per process mapping them. */
  max_rss_mib: number;
  max_anon_mib: number;
  /** Whole-life CPU of the tree (start to exit, including the engine's drain), from the reaped children's times. */
  lifetime_cpu_s: number;
  generator_cores: number;
  /** CPU the rest of the machine used during the load (other processes, hypervisor steal): noise. */
  other_cores: number;
  /** Green: the no-op downstream's CPU (its whole life) per second of load; not in receiver_cores. */
  sink_cores?: number;
  /** Established connections per listening process (ingest worker, or the one baseline process). */
  connections: number[];
  exit_code: number | null;
  /** Engine: accepted logs over the time from the first request to the engine's exit, when all are in the file or the vault. */
  settled_logs_per_s?: number;
  /** Engine: logs in the output file over the same time: what the exporter turned into OTLP JSON. */
  exported_logs_per_s?: number;
  /** Engine: share of the accepted requests that went to the vault because a green ring was full. */
  vault_share_pct?: number;
  /** Engine: from the last answer to the exit (SIGTERM, ingest stop, rings drained to the file and the vault). */
  drain_s?: number;
  /** Engine: lines in the output file after exit; with vaulted_requests must add up to generator.requests_ok. */
  exported_requests?: number;
  vaulted_requests?: number;
  notes: string[];
}

export interface Machine {
  nproc: number;
  cpu: string;
  ram_gib: number;
  kernel: string;
  node: string;
}

export function describeMachine(): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return {
    nproc: availableParallelism(),
    cpu: model?.[1] ?? 'unknown',
    ram_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
  };
}

const METRICS = [
  'logs_per_s',
  'mb_per_s',
  'logs_per_s_until_full',
  'logs_per_s_after_full',
  'first_refusal_s',
  'refused_pct',
  'receiver_cores',
  'cpu_us_per_log',
  'peak_rss_mib',
  'max_rss_mib',
  'max_anon_mib',
  'generator_cores',
  'other_cores',
  'sink_cores',
  'settled_logs_per_s',
  'exported_logs_per_s',
  'vault_share_pct',
  'drain_s',
  'lifetime_cpu_s',
] as const;
type Metric = (typeof METRICS)[number];

export interface Summary {
  batch: number;
  target: TargetKind;
  rounds: number;
  /** Each metric's own median: the columns of a row need not come from the same round. */
  median: Partial<Record<Metric, number>>;
  requests_refused_median: number;
  requests_error_total: number;
  receiver_cores_by_process_median: Record<string, number>;
  max_anon_mib_by_process_median: Record<string, number>;
  /** Each round's connections per listening process, e.g. ["2/2", "4/0"]: SO_REUSEPORT's spread. */
  connections: string[];
}

export function summarize(runs: readonly RunResult[]): Summary[] {
  const out: Summary[] = [];
  for (const batch of [...new Set(runs.map((r) => r.batch))]) {
    for (const target of TARGETS) {
      const group = runs.filter((r) => r.batch === batch && r.target === target);
      if (group.length === 0) continue;
      const med: Partial<Record<Metric, number>> = {};
      for (const m of METRICS) {
        const values = group.map((r) => r[m]).filter((v): v is number => v !== undefined);
        if (values.length > 0) med[m] = median(values);
      }
      out.push({
        batch,
        target,
        rounds: group.length,
        median: med,
        requests_refused_median: median(group.map((r) => r.generator.requests_refused)),
        requests_error_total: group.reduce((sum, r) => sum + r.generator.requests_error, 0),
        receiver_cores_by_process_median: medianByKey(group.map((r) => r.receiver_cores_by_process)),
        max_anon_mib_by_process_median: medianByKey(group.map((r) => r.max_anon_mib_by_process)),
        connections: group.map((r) => r.connections.join('/')),
      });
    }
  }
  return out;
}

/** Two Markdown tables (throughput, then resources) and the per-process breakdown. */
export function formatTable(summaries: readonly Summary[]): string {
  const throughput = [
    '| batch | receiver | accepted logs/s | MB/s | engine / baseline | logs/s until 1st refusal (at s) | engine / baseline | logs/s after 1st refusal | refused requests (share) | to vault (share of requests) | exported (file or sink), logs/s | drain s | connections per process, by round |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const resources = [
    '| batch | receiver | receiver CPU, cores | CPU µs / accepted log | Σ VmHWM MiB | max Σ RSS MiB (anon) | lifetime CPU s | generator CPU, cores | sink CPU, cores | other load, cores |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    const m = s.median;
    const baseline = summaries.find((b) => b.batch === s.batch && b.target === 'baseline')?.median;
    const ratio = (metric: Metric): string => {
      const base = baseline?.[metric];
      const value = m[metric];
      return s.target !== 'baseline' && base !== undefined && value !== undefined ? (value / base).toFixed(2) : '';
    };
    const head = `| ${s.batch} | ${LABELS[s.target]} |`;
    const firstRefusal = m.first_refusal_s === undefined ? 'none' : `${num(m.first_refusal_s, 1)} s`;
    throughput.push(
      `${head} ${num(m.logs_per_s, 0)} | ${num(m.mb_per_s, 1)} | ${ratio('logs_per_s')} | ${num(m.logs_per_s_until_full, 0)} (${firstRefusal}) | ${ratio('logs_per_s_until_full')} | ` +
        `${num(m.logs_per_s_after_full, 0)} | ${num(s.requests_refused_median, 0)} (${num(m.refused_pct, 1)} %) | ${pct(m.vault_share_pct)} | ${num(m.exported_logs_per_s, 0)} | ${num(m.drain_s, 1)} | ${s.connections.join(', ')} |`,
    );
    resources.push(
      `${head} ${num(m.receiver_cores, 2)} | ${num(m.cpu_us_per_log, 2)} | ${num(m.peak_rss_mib, 0)} | ${num(m.max_rss_mib, 0)} (${num(m.max_anon_mib, 0)}) | ` +
        `${num(m.lifetime_cpu_s, 1)} | ${num(m.generator_cores, 2)} | ${num(m.sink_cores, 2)} | ${num(m.other_cores, 2)} |`,
    );
  }
  const breakdown = summaries.map((s) => `- B=${s.batch} ${s.target}: ${perProcess(s.receiver_cores_by_process_median, s.max_anon_mib_by_process_median)}`);
  return [throughput.join('\n'), resources.join('\n'), `By process, medians (CPU cores over the load; largest RssAnon MiB):\n\n${breakdown.join('\n')}`].join('\n\n');
}

/** Writes everything, raw runs included, and returns the path. */
export function writeJson(settings: BenchSettings, machine: Machine, runs: readonly RunResult[], summaries: readonly Summary[]): string {
  const dir = join(ROOT, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ settings, machine, summaries, runs }, null, 2)}\n`);
  return path;
}

function perProcess(cores: Record<string, number>, anonMib: Record<string, number>): string {
  return Object.keys(cores)
    .map((name) => `${name} ${cores[name].toFixed(2)} cores, ${num(anonMib[name], 0)} MiB`)
    .join('; ');
}

function medianByKey(records: readonly Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
  return Object.fromEntries(keys.map((k) => [k, median(records.map((r) => r[k] ?? 0))]));
}

/** Microseconds per call of `fn`, the median of `trials` runs of `repetitions` calls each. */
export function microsPerCall(repetitions: number, fn: () => unknown, trials = 5): number {
  const runs: number[] = [];
  for (let t = 0; t < trials; t++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < repetitions; i++) fn();
    runs.push(Number(process.hrtime.bigint() - start) / repetitions / 1000);
  }
  return median(runs);
}

/** The value at quantile q (0 to 1) of sorted values, nearest rank; 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function pct(value: number | undefined): string {
  return value === undefined ? '–' : `${num(value, 1)} %`;
}

function num(value: number | undefined, digits: number): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

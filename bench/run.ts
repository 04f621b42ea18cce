/**
 * `npm run bench`: the ingest benchmark. For each batch size and round it measures the no-op
 * baseline and then the engine, interleaved so that a noisy neighbour hits both, each as a
 * fresh process tree driven by the same load generator process. Prints one line per run,
 * then a table of medians with the engine/baseline ratio, and writes the raw runs to
 * bench/out/. Knobs: see bench/settings.ts and docs/benchmarks.md.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exitWithin, ROOT, spawnNode } from './child-io';
import type { GeneratorResult } from './load-generator';
import { connectionsPerProcess, machineBusyS, reapedChildrenCpuS, TreeSampler } from './proc-tree';
import { describeMachine, formatTable, summarize, writeJson, type RunResult } from './report';
import { GENERATOR_DRAIN_GRACE_MS, readSettings, type BenchSettings } from './settings';
import { startTarget, type Target, type TargetKind } from './targets';

const SAMPLE_INTERVAL_MS = 100;
/** When to look at how the connections spread: after they are up, well before the load ends. */
const CONNECTION_PROBE_MS = 2000;
/** Beyond the generator's own bound (duration plus its drain grace). */
const GENERATOR_MARGIN_MS = 30_000;
const MiB = 1024 * 1024;
/** Foreign CPU load above which a run is flagged as disturbed. */
const OTHER_LOAD_NOTE_CORES = 0.1;
const IDLE_CHECK_MS = 1000;

let current: Target | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  const machine = describeMachine();
  console.log(`machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.ram_gib} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}`);
  console.log(`settings: ${JSON.stringify(settings)}`);
  const idle = await otherLoadCores(IDLE_CHECK_MS);
  if (idle > OTHER_LOAD_NOTE_CORES) console.log(`warning: other work is keeping ${idle.toFixed(2)} cores busy before the start; expect noisy results`);
  // Ctrl-C must not leave an engine running or a ring in /dev/shm.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      current?.cleanup();
      process.exit(130);
    });
  }

  const runs: RunResult[] = [];
  for (const batch of settings.batches) {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const kind of settings.targets) {
        const run = await measure(kind, batch, round, settings);
        runs.push(run);
        console.log(describeRun(run));
      }
    }
  }
  const summaries = summarize(runs);
  console.log(`\nmedians over ${settings.rounds} round(s); ${settings.connections} connections x ${settings.inflight} in flight, ${settings.seconds} s per run, engine with ${settings.workers} ingest workers and ${settings.ringMib} MiB rings\n`);
  console.log(formatTable(summaries));
  const noted = runs.filter((r) => r.notes.length > 0);
  if (noted.length > 0) console.log(`\n${noted.length} run(s) have notes (warnings, errors, mismatches): see the JSON file`);
  console.log(`\nraw results: ${writeJson(settings, machine, runs, summaries)}`);
}

async function measure(kind: TargetKind, batch: number, round: number, settings: BenchSettings): Promise<RunResult> {
  const target = await startTarget(kind, settings.workers, settings.ringMib);
  current = target;
  try {
    const sampler = new TreeSampler(target.pid, SAMPLE_INTERVAL_MS);
    const before = sampler.sample();
    const window = { started: performance.now(), busyS: machineBusyS(), reapedS: reapedChildrenCpuS(), self: process.cpuUsage() };
    const generator = spawnNode(join(ROOT, 'dist/bench/load-generator.js'), generatorArgs(target.port, batch, settings));
    let stdout = '';
    let stderr = '';
    generator.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    generator.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const stdoutEnded = once(generator.stdout!, 'end');
    let connections: number[] = [];
    const probe = setTimeout(() => {
      connections = connectionsPerProcess(target.listenerPids(), target.port);
    }, Math.min(CONNECTION_PROBE_MS, settings.seconds * 500));

    const genExit = await exitWithin(generator, settings.seconds * 1000 + GENERATOR_DRAIN_GRACE_MS + GENERATOR_MARGIN_MS);
    clearTimeout(probe);
    const { last, peakRssByPid } = sampler.finish();
    const self = process.cpuUsage(window.self);
    // Reaped by now: the generator's whole life, start-up included.
    const generatorCpuS = reapedChildrenCpuS() - window.reapedS;
    const otherCpuS = machineBusyS() - window.busyS - (last.cpuS - before.cpuS) - generatorCpuS - (self.user + self.system) / 1e6;
    const windowS = (performance.now() - window.started) / 1000;
    if (genExit === undefined) {
      generator.kill('SIGKILL');
      throw new Error(`load generator did not finish (B=${batch}, ${kind}); stderr: ${stderr}`);
    }
    await stdoutEnded;
    if (genExit.code !== 0) throw new Error(`load generator failed (code ${genExit.code}, B=${batch}, ${kind}): ${stderr}`);
    const gen = JSON.parse(stdout.trim().split('\n').pop()!) as GeneratorResult;

    // From here on the reaped-children counter gains only the receiver's whole life.
    const reapedBefore = reapedChildrenCpuS();
    const exit = await target.stop();
    const sinkCpuS = target.sinkCpuS?.() ?? 0;
    // The green target's sink is a child of this runner too, reaped at its stop.
    const lifetimeCpuS = reapedChildrenCpuS() - reapedBefore - sinkCpuS;
    const exportedLogs = target.exportedLogs?.();
    const names = target.processNames();
    const cpuDelta = new Map([...last.cpuSByPid].map(([pid, cpuS]) => [pid, cpuS - (before.cpuSByPid.get(pid) ?? 0)]));
    return result(kind, batch, round, gen, {
      cpuS: last.cpuS - before.cpuS,
      cpuSByProcess: byName(names, cpuDelta),
      peakRssBytes: sum(peakRssByPid.values()),
      peakRssBytesByProcess: byName(names, peakRssByPid),
      maxAnonBytesByProcess: byName(names, sampler.maxAnonBytesByPid),
      maxRssBytes: sampler.maxRssBytes,
      maxAnonBytes: sampler.maxAnonBytes,
      lifetimeCpuS,
      // The sink ran only while the engine did: its CPU, load and drain alike, counts against the load window.
      otherCores: (otherCpuS - sinkCpuS) / windowS,
      sinkCores: sinkCpuS / windowS,
      connections,
      exitCode: exit.code,
      exitEpochMs: exit.epochMs,
      exportedRequests: target.exportedRequests?.() ?? (exportedLogs === undefined ? undefined : exportedLogs / batch),
      vaultedRequests: target.vaultedRequests?.(),
      notes: [...target.notes, ...(stderr === '' ? [] : [`generator stderr: ${stderr}`])],
    });
  } finally {
    target.cleanup();
    current = undefined;
  }
}

/** CPU cores the rest of the machine uses over `ms` while this process just waits. */
async function otherLoadCores(ms: number): Promise<number> {
  const busyS = machineBusyS();
  const self = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const own = process.cpuUsage(self);
  return (machineBusyS() - busyS - (own.user + own.system) / 1e6) / (ms / 1000);
}

function generatorArgs(port: number, batch: number, s: BenchSettings): string[] {
  const args = ['--port', `${port}`, '--batch', `${batch}`, '--connections', `${s.connections}`, '--inflight', `${s.inflight}`, '--seconds', `${s.seconds}`];
  return s.requests === undefined ? args : [...args, '--requests', `${s.requests}`];
}

/** A per-pid measure keyed by process name (supervisor, ingest-0, ...) for the report. */
function byName(names: ReadonlyMap<number, string>, byPid: ReadonlyMap<number, number>): Record<string, number> {
  return Object.fromEntries([...byPid].map(([pid, value]) => [names.get(pid) ?? `pid ${pid}`, value]));
}

function scaled(record: Record<string, number>, factor: number): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v * factor]));
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

interface Observed {
  cpuS: number;
  cpuSByProcess: Record<string, number>;
  peakRssBytes: number;
  peakRssBytesByProcess: Record<string, number>;
  maxAnonBytesByProcess: Record<string, number>;
  maxRssBytes: number;
  maxAnonBytes: number;
  lifetimeCpuS: number;
  otherCores: number;
  sinkCores: number;
  connections: number[];
  exitCode: number | null;
  exitEpochMs: number;
  exportedRequests: number | undefined;
  vaultedRequests: number | undefined;
  notes: string[];
}

function result(kind: TargetKind, batch: number, round: number, gen: GeneratorResult, o: Observed): RunResult {
  const answered = gen.requests_ok + gen.requests_refused + gen.requests_error;
  const notes = [...o.notes];
  if (gen.requests_error > 0) notes.push(`${gen.requests_error} requests failed: ${JSON.stringify(gen.errors_by_status)}, ${gen.requests_cut_off} cut off unanswered`);
  if (o.otherCores > OTHER_LOAD_NOTE_CORES) notes.push(`other work kept ${o.otherCores.toFixed(2)} cores busy during the load`);
  if (o.exitCode !== 0) notes.push(`receiver exited with code ${o.exitCode}`);
  if (o.exportedRequests !== undefined && o.vaultedRequests !== undefined && o.exportedRequests + o.vaultedRequests !== gen.requests_ok) {
    notes.push(`the engine accepted ${gen.requests_ok} requests but its output file holds ${o.exportedRequests} and its vault ${o.vaultedRequests}`);
  }
  const run: RunResult = {
    target: kind,
    batch,
    round,
    generator: gen,
    logs_per_s: gen.logs_ok / gen.elapsed_s,
    mb_per_s: gen.bytes_ok / gen.elapsed_s / 1e6,
    logs_per_s_until_full: (gen.requests_ok_before_first_refusal * batch) / (gen.first_refusal_s ?? gen.elapsed_s),
    refused_pct: answered === 0 ? 0 : (100 * gen.requests_refused) / answered,
    receiver_cpu_s: o.cpuS,
    receiver_cores: o.cpuS / gen.elapsed_s,
    receiver_cores_by_process: scaled(o.cpuSByProcess, 1 / gen.elapsed_s),
    cpu_us_per_log: gen.logs_ok === 0 ? 0 : (o.cpuS / gen.logs_ok) * 1e6,
    peak_rss_mib: o.peakRssBytes / MiB,
    peak_rss_mib_by_process: scaled(o.peakRssBytesByProcess, 1 / MiB),
    max_anon_mib_by_process: scaled(o.maxAnonBytesByProcess, 1 / MiB),
    max_rss_mib: o.maxRssBytes / MiB,
    max_anon_mib: o.maxAnonBytes / MiB,
    lifetime_cpu_s: o.lifetimeCpuS,
    generator_cores: gen.cpu_s / gen.elapsed_s,
    other_cores: o.otherCores,
    connections: o.connections,
    exit_code: o.exitCode,
    notes,
  };
  if (gen.first_refusal_s !== null) {
    run.first_refusal_s = gen.first_refusal_s;
    run.logs_per_s_after_full = ((gen.requests_ok - gen.requests_ok_before_first_refusal) * batch) / (gen.elapsed_s - gen.first_refusal_s);
  }
  if (o.sinkCores > 0) run.sink_cores = o.sinkCores;
  if (kind !== 'baseline' && o.exportedRequests !== undefined && o.vaultedRequests !== undefined) {
    const toExitS = (o.exitEpochMs - gen.first_request_epoch_ms) / 1000;
    run.settled_logs_per_s = gen.logs_ok / toExitS;
    run.exported_logs_per_s = (o.exportedRequests * batch) / toExitS;
    run.vault_share_pct = gen.requests_ok === 0 ? 0 : (100 * o.vaultedRequests) / gen.requests_ok;
    run.drain_s = (o.exitEpochMs - gen.last_answer_epoch_ms) / 1000;
    run.exported_requests = o.exportedRequests;
    run.vaulted_requests = o.vaultedRequests;
  }
  return run;
}

function describeRun(r: RunResult): string {
  const g = r.generator;
  const parts = [
    `B=${r.batch} round ${r.round} ${r.target.padEnd(8)}`,
    `${Math.round(r.logs_per_s).toLocaleString('en-US')} logs/s`,
    `${r.mb_per_s.toFixed(1)} MB/s`,
    `ok ${g.requests_ok} refused ${g.requests_refused} error ${g.requests_error}`,
    g.first_refusal_s === null
      ? 'no refusal'
      : `first refusal at ${g.first_refusal_s.toFixed(1)} s (${Math.round(r.logs_per_s_until_full).toLocaleString('en-US')} logs/s until then, ${Math.round(r.logs_per_s_after_full!).toLocaleString('en-US')} after)`,
    ...Object.entries(g.refused_by_message).map(([message, n]) => `${n} refused "${message.slice(0, 40)}…"`),
    `cpu ${r.receiver_cores.toFixed(2)} cores (${Object.entries(r.receiver_cores_by_process).map(([name, cores]) => `${name} ${cores.toFixed(2)}`).join(', ')}; generator ${r.generator_cores.toFixed(2)})`,
    `ΣHWM ${r.peak_rss_mib.toFixed(0)} MiB`,
    `conns ${r.connections.join('/')}`,
    `other load ${r.other_cores.toFixed(2)} cores`,
  ];
  if (r.exported_logs_per_s !== undefined) {
    parts.push(
      `exported ${Math.round(r.exported_logs_per_s).toLocaleString('en-US')} logs/s (${r.exported_requests} lines), ${r.vaulted_requests} requests in the vault, drain ${r.drain_s!.toFixed(1)} s`,
    );
  }
  if (r.notes.length > 0) parts.push(`NOTES: ${r.notes.join(' | ')}`);
  return parts.join(', ');
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  current?.cleanup();
  process.exit(1);
});

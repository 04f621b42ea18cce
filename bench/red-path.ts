/**
 * `npm run bench:red`: the Red path's throughput. For each batch size and round, interleaved
 * so that a noisy neighbour hits all three: the no-op receiver, the engine with every request
 * forced to the red rings and the vault, and `dd oflag=direct` on the vault's filesystem.
 * Then one longer engine run that writes BENCH_RED_GB GB to the vault while the page cache
 * and the tree's RSS are watched. Knobs: bench/settings.ts plus BENCH_RED_GB; see
 * docs/benchmarks.md, "Red path (vault)".
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, spawnNode, exitWithin } from './child-io';
import type { GeneratorResult } from './load-generator';
import { buildPayload } from './payload';
import { machineBusyS, reapedChildrenCpuS, TreeSampler, type TreeSample } from './proc-tree';
import { ddDirect, readMemInfo, type MemInfo } from './red-disk';
import { startRedEngine, type VaultContents } from './red-engine';
import { describeMachine, median } from './report';
import { GENERATOR_DRAIN_GRACE_MS, readSettings, type BenchSettings } from './settings';
import { startBaseline } from './targets';

const SAMPLE_INTERVAL_MS = 100;
const GENERATOR_MARGIN_MS = 30_000;
/** About 4–5 s at the ~0.9 GB/s this VM's disk takes O_DIRECT writes: long enough to be steady. */
const DD_MIB = 4096;
/** The page-cache run stops at BENCH_RED_GB or at this, whichever comes first. */
const PAGE_CACHE_RUN_MAX_S = 180;
const PAGE_CACHE_BATCH = 1000;
const MiB = 1024 * 1024;

interface Row {
  target: 'baseline' | 'red' | 'dd';
  batch: number;
  round: number;
  logs_per_s?: number;
  mb_per_s?: number;
  requests_ok?: number;
  requests_refused?: number;
  requests_error?: number;
  /** grpc-message of the UNAVAILABLE answers: a full red ring, or a full in-flight budget. */
  refused_by_message?: Record<string, number>;
  cores?: number;
  cores_by_process?: Record<string, number>;
  generator_cores?: number;
  /** CPU the rest of the machine used meanwhile (other sessions, steal): noise. */
  other_cores?: number;
  cpu_us_per_log?: number;
  max_anon_mib?: number;
  /** Red: segment bytes over first request → engine exit. dd: its own rate. */
  disk_mb_per_s?: number;
  drain_s?: number;
  vault?: VaultContents;
  /** Red: the vault's event-loop delay p99 from its first batch to its exit, ms. */
  vault_loop_p99_ms?: number;
  /** Red: vault MB/s over the same round's dd MB/s. */
  vault_to_dd?: number;
  notes: string[];
}

let cleanupCurrent: (() => void) | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  const redGb = readRedGb();
  const machine = describeMachine();
  const varFs = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE,OPTIONS', '-T', join(ROOT, 'var')], { encoding: 'utf8' }).trim();
  console.log(`machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.ram_gib} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}; var/ on ${varFs}`);
  console.log(`settings: ${JSON.stringify({ ...settings, redGb })}`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupCurrent?.();
      process.exit(130);
    });
  }
  mkdirSync(join(ROOT, 'var'), { recursive: true });

  const rows: Row[] = [];
  for (const batch of settings.batches) {
    for (let round = 1; round <= settings.rounds; round++) {
      const baseline = await measureBaseline(batch, round, settings);
      const red = (await measureRed(batch, round, settings)).row;
      const dd = { target: 'dd' as const, batch, round, disk_mb_per_s: ddDirect(join(ROOT, 'var'), DD_MIB).mbPerS, notes: [] };
      red.vault_to_dd = red.disk_mb_per_s! / dd.disk_mb_per_s;
      for (const row of [baseline, red, dd]) {
        rows.push(row);
        console.log(describeRow(row));
      }
    }
  }
  console.log(`\nmedians over ${settings.rounds} round(s); ${settings.connections} connections x ${settings.inflight} in flight, ${settings.seconds} s per run, engine with ${settings.workers} ingest workers, zones.force red, ${settings.ringMib} MiB red rings\n`);
  console.log(formatMedians(rows));

  let pageCache: PageCacheRun | undefined;
  if (redGb > 0) {
    pageCache = await measurePageCache(redGb, settings);
    console.log(`\npage-cache run: B=${PAGE_CACHE_BATCH}, ${redGb} GB asked, ${(pageCache.vault.fileBytes / 1e9).toFixed(2)} GB of segments written\n`);
    console.log(formatPageCache(pageCache));
    console.log(`\n${describeRow(pageCache.row)}`);
  }

  const noted = [...rows, ...(pageCache ? [pageCache.row] : [])].filter((r) => r.notes.length > 0);
  if (noted.length > 0) console.log(`\n${noted.length} run(s) have notes (engine warnings/errors, count mismatches): see above and the JSON file`);
  const dir = join(ROOT, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `red-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ settings, redGb, machine, varFs, rows, pageCache }, null, 2)}\n`);
  console.log(`\nraw results: ${path}`);
}

function readRedGb(): number {
  const raw = process.env.BENCH_RED_GB;
  if (raw === undefined || raw === '') return 10;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 60) throw new Error(`BENCH_RED_GB must be an integer from 0 (skip) to 60, got ${JSON.stringify(raw)}`);
  return value;
}

async function runGenerator(port: number, batch: number, s: BenchSettings, seconds: number, requests?: number): Promise<GeneratorResult> {
  const args = ['--port', `${port}`, '--batch', `${batch}`, '--connections', `${s.connections}`, '--inflight', `${s.inflight}`, '--seconds', `${seconds}`];
  if (requests !== undefined) args.push('--requests', `${requests}`);
  const generator = spawnNode(join(ROOT, 'dist/bench/load-generator.js'), args);
  let stdout = '';
  let stderr = '';
  generator.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  generator.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const stdoutEnded = once(generator.stdout!, 'end');
  const exit = await exitWithin(generator, seconds * 1000 + GENERATOR_DRAIN_GRACE_MS + GENERATOR_MARGIN_MS);
  if (exit === undefined) {
    generator.kill('SIGKILL');
    throw new Error(`load generator did not finish (B=${batch}); stderr: ${stderr}`);
  }
  await stdoutEnded;
  if (exit.code !== 0) throw new Error(`load generator failed (code ${exit.code}, B=${batch}): ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as GeneratorResult;
}

/** Machine-wide CPU and this runner's own, to tell how much other work shared the load window. */
function openWindow(): { busyS: number; self: NodeJS.CpuUsage } {
  return { busyS: machineBusyS(), self: process.cpuUsage() };
}

function otherCores(window: { busyS: number; self: NodeJS.CpuUsage }, receiverCpuS: number, gen: GeneratorResult): number {
  const self = process.cpuUsage(window.self);
  return (machineBusyS() - window.busyS - receiverCpuS - gen.cpu_s - (self.user + self.system) / 1e6) / gen.elapsed_s;
}

/** The throughput and CPU part of a row, common to the baseline and the engine. */
function loadRow(target: Row['target'], batch: number, round: number, gen: GeneratorResult, cpuS: number, sampler: TreeSampler): Row {
  const notes: string[] = [];
  if (gen.requests_error > 0) notes.push(`${gen.requests_error} requests failed: ${JSON.stringify(gen.errors_by_status)}, ${gen.requests_cut_off} cut off`);
  return {
    target,
    batch,
    round,
    logs_per_s: gen.logs_ok / gen.elapsed_s,
    mb_per_s: gen.bytes_ok / gen.elapsed_s / 1e6,
    requests_ok: gen.requests_ok,
    requests_refused: gen.requests_refused,
    requests_error: gen.requests_error,
    refused_by_message: gen.refused_by_message,
    cores: cpuS / gen.elapsed_s,
    generator_cores: gen.cpu_s / gen.elapsed_s,
    cpu_us_per_log: gen.logs_ok === 0 ? 0 : (cpuS / gen.logs_ok) * 1e6,
    max_anon_mib: sampler.maxAnonBytes / MiB,
    notes,
  };
}

async function measureBaseline(batch: number, round: number, s: BenchSettings): Promise<Row> {
  const target = await startBaseline();
  cleanupCurrent = target.cleanup;
  try {
    const sampler = new TreeSampler(target.pid, SAMPLE_INTERVAL_MS);
    const before = sampler.sample();
    const window = openWindow();
    const gen = await runGenerator(target.port, batch, s, s.seconds);
    const { last } = sampler.finish();
    const other = otherCores(window, last.cpuS - before.cpuS, gen);
    const exit = await target.stop();
    const row = loadRow('baseline', batch, round, gen, last.cpuS - before.cpuS, sampler);
    row.other_cores = other;
    row.notes.push(...target.notes);
    if (exit.code !== 0) row.notes.push(`receiver exited with code ${exit.code}`);
    return row;
  } finally {
    target.cleanup();
    cleanupCurrent = undefined;
  }
}

interface RedRun {
  row: Row;
  vault: VaultContents;
  rss: { start: TreeSample; maxRssBytes: number; maxAnonBytes: number; end: TreeSample };
  mem: { beforeStart: MemInfo; afterLoad: MemInfo; afterExit: MemInfo; maxCachedBytes: number; maxDirtyBytes: number };
  lifetimeCpuS: number;
}

async function measureRed(batch: number, round: number, s: BenchSettings, targetBytes?: number): Promise<RedRun> {
  const beforeStart = readMemInfo();
  let maxCachedBytes = beforeStart.cachedBytes;
  let maxDirtyBytes = beforeStart.dirtyBytes;
  const memWatch = setInterval(() => {
    const m = readMemInfo();
    maxCachedBytes = Math.max(maxCachedBytes, m.cachedBytes);
    maxDirtyBytes = Math.max(maxDirtyBytes, m.dirtyBytes);
  }, SAMPLE_INTERVAL_MS);
  const engine = await startRedEngine(s.workers, s.ringMib);
  cleanupCurrent = engine.cleanup;
  try {
    const sampler = new TreeSampler(engine.pid, SAMPLE_INTERVAL_MS);
    const start = sampler.sample();
    const window = openWindow();
    const gen = targetBytes === undefined ? await runGenerator(engine.port, batch, s, s.seconds) : await generateUntil(engine.port, batch, s, targetBytes);
    const { last } = sampler.finish();
    const other = otherCores(window, last.cpuS - start.cpuS, gen);
    const afterLoad = readMemInfo();
    const names = engine.processNames();
    const reapedBefore = reapedChildrenCpuS();
    const exit = await engine.stop();
    clearInterval(memWatch);
    const lifetimeCpuS = reapedChildrenCpuS() - reapedBefore;
    const vault = engine.vaultContents();
    const row = loadRow('red', batch, round, gen, last.cpuS - start.cpuS, sampler);
    row.other_cores = other;
    row.cores_by_process = Object.fromEntries(
      [...last.cpuSByPid].map(([pid, cpuS]) => [names.get(pid) ?? `pid ${pid}`, (cpuS - (start.cpuSByPid.get(pid) ?? 0)) / gen.elapsed_s]),
    );
    row.disk_mb_per_s = vault.fileBytes / ((exit.epochMs - gen.first_request_epoch_ms) / 1000) / 1e6;
    row.drain_s = (exit.epochMs - gen.last_answer_epoch_ms) / 1000;
    row.vault = vault;
    const loopDelay = engine.vaultLoopDelay();
    if (loopDelay === undefined) row.notes.push('the vault logged no event-loop delay');
    else row.vault_loop_p99_ms = loopDelay.p99Ms;
    row.notes.push(...engine.notes);
    if (exit.code !== 0) row.notes.push(`engine exited with code ${exit.code}, signal ${exit.signal}`);
    if (vault.records !== gen.requests_ok) row.notes.push(`ERROR: the engine accepted ${gen.requests_ok} requests but its vault holds ${vault.records} records`);
    if (vault.corruptSkipped > 0 || vault.tornSegments > 0) row.notes.push(`ERROR: vault has ${vault.corruptSkipped} corrupt regions and ${vault.tornSegments} torn segments`);
    engine.cleanup();
    return {
      row,
      vault,
      rss: { start, maxRssBytes: sampler.maxRssBytes, maxAnonBytes: sampler.maxAnonBytes, end: last },
      // After cleanup: the rings' tmpfs pages are gone, so what is left is the vault's doing.
      mem: { beforeStart, afterLoad, afterExit: readMemInfo(), maxCachedBytes, maxDirtyBytes },
      lifetimeCpuS,
    };
  } finally {
    clearInterval(memWatch);
    engine.cleanup();
    cleanupCurrent = undefined;
  }
}

interface PageCacheRun extends RedRun {
  askedGb: number;
}

async function measurePageCache(gb: number, s: BenchSettings): Promise<PageCacheRun> {
  return { ...(await measureRed(PAGE_CACHE_BATCH, 1, s, gb * 1e9)), askedGb: gb };
}

/**
 * Sends until `targetBytes` were accepted or PAGE_CACHE_RUN_MAX_S passed. The generator
 * stops after N requests sent, refused ones included, so it is run again for what is still
 * missing; the runs are merged into one result over the whole wall-clock span, gaps included.
 */
async function generateUntil(port: number, batch: number, s: BenchSettings, targetBytes: number): Promise<GeneratorResult> {
  const messageBytes = buildPayload(batch).messageBytes;
  const deadline = performance.now() + PAGE_CACHE_RUN_MAX_S * 1000;
  let total: GeneratorResult | undefined;
  while ((total?.bytes_ok ?? 0) < targetBytes && performance.now() < deadline) {
    const requests = Math.ceil((targetBytes - (total?.bytes_ok ?? 0)) / messageBytes);
    const seconds = Math.max(1, Math.ceil((deadline - performance.now()) / 1000));
    const gen = await runGenerator(port, batch, s, seconds, requests);
    total = total === undefined ? gen : merge(total, gen);
  }
  return total!;
}

function merge(a: GeneratorResult, b: GeneratorResult): GeneratorResult {
  const sumRecords = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    ...a,
    requests_ok: a.requests_ok + b.requests_ok,
    requests_refused: a.requests_refused + b.requests_refused,
    requests_error: a.requests_error + b.requests_error,
    logs_ok: a.logs_ok + b.logs_ok,
    bytes_ok: a.bytes_ok + b.bytes_ok,
    elapsed_s: (b.last_answer_epoch_ms - a.first_request_epoch_ms) / 1000,
    requests_sent: a.requests_sent + b.requests_sent,
    errors_by_status: sumRecords(a.errors_by_status, b.errors_by_status),
    refused_by_message: sumRecords(a.refused_by_message, b.refused_by_message),
    requests_cut_off: a.requests_cut_off + b.requests_cut_off,
    last_answer_epoch_ms: b.last_answer_epoch_ms,
    cpu_s: a.cpu_s + b.cpu_s,
  };
}

function num(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatMedians(rows: readonly Row[]): string {
  const lines = [
    '| batch | run | accepted logs/s | accepted MB/s | × baseline | refused requests (share) | disk MB/s | vault / dd | vault loop p99 ms | drain s | receiver CPU, cores | CPU µs / log | max Σ RssAnon MiB | generator CPU, cores | other load, cores | vault records = accepted |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const batch of [...new Set(rows.map((r) => r.batch))]) {
    const med = (target: Row['target'], key: keyof Row): number | undefined => {
      const values = rows.filter((r) => r.batch === batch && r.target === target).map((r) => r[key]).filter((v): v is number => typeof v === 'number');
      return values.length === 0 ? undefined : median(values);
    };
    const reds = rows.filter((r) => r.batch === batch && r.target === 'red');
    const refusedShare = median(reds.map((r) => (100 * r.requests_refused!) / (r.requests_ok! + r.requests_refused! + r.requests_error!)));
    const matches = reds.map((r) => (r.vault!.records === r.requests_ok ? `${r.vault!.records} ✓` : `${r.vault!.records} ≠ ${r.requests_ok}`)).join(', ');
    lines.push(
      `| ${batch} | no-op baseline (1 process) | ${num(med('baseline', 'logs_per_s'), 0)} | ${num(med('baseline', 'mb_per_s'), 1)} | | ${num(med('baseline', 'requests_refused'), 0)} | | | | | ${num(med('baseline', 'cores'), 2)} | ${num(med('baseline', 'cpu_us_per_log'), 2)} | ${num(med('baseline', 'max_anon_mib'), 0)} | ${num(med('baseline', 'generator_cores'), 2)} | ${num(med('baseline', 'other_cores'), 2)} | |`,
      `| ${batch} | engine, Red path | ${num(med('red', 'logs_per_s'), 0)} | ${num(med('red', 'mb_per_s'), 1)} | ${num(med('red', 'logs_per_s')! / med('baseline', 'logs_per_s')!, 2)} | ${num(med('red', 'requests_refused'), 0)} (${num(refusedShare, 1)} %) | ${num(med('red', 'disk_mb_per_s'), 1)} | ${num(med('red', 'vault_to_dd'), 2)} | ${num(med('red', 'vault_loop_p99_ms'), 1)} | ${num(med('red', 'drain_s'), 1)} | ${num(med('red', 'cores'), 2)} | ${num(med('red', 'cpu_us_per_log'), 2)} | ${num(med('red', 'max_anon_mib'), 0)} | ${num(med('red', 'generator_cores'), 2)} | ${num(med('red', 'other_cores'), 2)} | ${matches} |`,
      `| ${batch} | dd bs=1M oflag=direct (${DD_MIB} MiB) | | | | | ${num(med('dd', 'disk_mb_per_s'), 1)} | 1.00 | | | | | | | | |`,
    );
  }
  const byProcess = [...new Set(rows.map((r) => r.batch))].map((batch) => {
    const reds = rows.filter((r) => r.batch === batch && r.target === 'red');
    const names = [...new Set(reds.flatMap((r) => Object.keys(r.cores_by_process!)))].sort();
    return `- B=${batch} Red path: ${names.map((n) => `${n} ${num(median(reds.map((r) => r.cores_by_process![n] ?? 0)), 2)}`).join(', ')}`;
  });
  return `${lines.join('\n')}\n\nEngine CPU by process, medians (cores over the load):\n\n${byProcess.join('\n')}`;
}

function formatPageCache(p: PageCacheRun): string {
  const gib = (bytes: number): string => num(bytes / 2 ** 30, 2);
  const mib = (bytes: number): string => num(bytes / MiB, 0);
  const { beforeStart, afterLoad, afterExit } = p.mem;
  return [
    '| /proc/meminfo, GiB | before engine start | after the load (before SIGTERM) | after exit and ring removal | max during the run |',
    '|---|---:|---:|---:|---:|',
    `| Cached | ${gib(beforeStart.cachedBytes)} | ${gib(afterLoad.cachedBytes)} | ${gib(afterExit.cachedBytes)} | ${gib(p.mem.maxCachedBytes)} |`,
    `| Shmem (in Cached; the rings) | ${gib(beforeStart.shmemBytes)} | ${gib(afterLoad.shmemBytes)} | ${gib(afterExit.shmemBytes)} | |`,
    `| Cached − Shmem | ${gib(beforeStart.cachedBytes - beforeStart.shmemBytes)} | ${gib(afterLoad.cachedBytes - afterLoad.shmemBytes)} | ${gib(afterExit.cachedBytes - afterExit.shmemBytes)} | |`,
    `| Dirty | ${gib(beforeStart.dirtyBytes)} | ${gib(afterLoad.dirtyBytes)} | ${gib(afterExit.dirtyBytes)} | ${gib(p.mem.maxDirtyBytes)} |`,
    '',
    '| engine tree, MiB | at start (ready, idle) | max over the load | end of the load |',
    '|---|---:|---:|---:|',
    `| Σ VmRSS (ring pages once per process mapping them) | ${mib(p.rss.start.rssBytes)} | ${mib(p.rss.maxRssBytes)} | ${mib(p.rss.end.rssBytes)} |`,
    `| Σ RssAnon | ${mib(p.rss.start.anonBytes)} | ${mib(p.rss.maxAnonBytes)} | ${mib(p.rss.end.anonBytes)} |`,
  ].join('\n');
}

function describeRow(r: Row): string {
  if (r.target === 'dd') return `B=${r.batch} round ${r.round} dd       ${num(r.disk_mb_per_s, 1)} MB/s`;
  const parts = [
    `B=${r.batch} round ${r.round} ${r.target.padEnd(8)}`,
    `${num(r.logs_per_s, 0)} logs/s`,
    `${num(r.mb_per_s, 1)} MB/s`,
    `ok ${r.requests_ok} refused ${r.requests_refused} error ${r.requests_error}`,
    ...Object.entries(r.refused_by_message ?? {}).map(([message, n]) => `${n} refused "${message}"`),
    `cpu ${num(r.cores, 2)} cores${r.cores_by_process === undefined ? '' : ` (${Object.entries(r.cores_by_process).map(([name, cores]) => `${name} ${num(cores, 2)}`).join(', ')})`}, ${num(r.cpu_us_per_log, 2)} µs/log`,
    `generator ${num(r.generator_cores, 2)} cores, other load ${num(r.other_cores, 2)} cores`,
    `max Σ RssAnon ${num(r.max_anon_mib, 0)} MiB`,
  ];
  if (r.vault !== undefined) {
    parts.push(`vault ${r.vault.segments} segments ${num(r.vault.fileBytes / 1e9, 2)} GB ${r.vault.records} records, ${num(r.disk_mb_per_s, 1)} MB/s to exit, drain ${num(r.drain_s, 1)} s, vault loop p99 ${num(r.vault_loop_p99_ms, 1)} ms`);
  }
  if (r.notes.length > 0) parts.push(`NOTES: ${r.notes.join(' | ')}`);
  return parts.join(', ');
}

main().catch((err: unknown) => {
  console.error(`bench:red: ${(err as Error).stack ?? String(err)}`);
  cleanupCurrent?.();
  process.exit(1);
});

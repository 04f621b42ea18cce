/**
 * The 20x spike: the whole engine inside a memory cgroup with a hard limit, exporting to a
 * downstream that takes only 1/20 of what arrives, flooded for a window by the load
 * generator and the OpenTelemetry SDK together. Then the downstream recovers, and the run
 * waits for the engine to pay its debt: zone back to Green, the vault replayed, every
 * acknowledged record at the downstream. The suite runs it small, `npm run bench:spike` large.
 * SPIKE_LOG=FILE keeps the engine's log lines there, for a look at a failed run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statValue } from '../src/common/stat-file';
import { sdkSender } from '../test/helpers/otel-sdk';
import { exitWithin, followLines, ROOT, spawnNode } from './child-io';
import type { GeneratorResult } from './load-generator';
import { createMemoryCgroup, type MemoryCgroup } from './memory-cgroup';
import { quantile } from './report';
import { startSlowSink } from './slow-sink';
import { launchEngine, type LaunchedEngine, type LogLine } from './targets';

const SAMPLE_EVERY_MS = 50;

export interface SpikeOptions {
  limitBytes: number;
  /** What the downstream accepts during the spike, records a second. */
  sinkRecordsPerSecond: number;
  /** Offered load as a multiple of the downstream's rate. */
  factor: number;
  windowSeconds: number;
  /** Records a second the SDK producer sends (unique ids); the generator offers the rest. */
  sdkRecordsPerSecond: number;
  generatorBatch: number;
  /** How long the engine gets to deliver everything after the window. */
  settleTimeoutMs: number;
  /** Once everything is delivered, how long the engine rests before its memory is read (it gives back what the spike grew). */
  restSeconds?: number;
}

export interface SpikeReport {
  cgroup: string;
  limitBytes: number;
  peakBytes: number;
  /** What the cgroup held at the end, MiB by kind, and each process's RSS in MiB. */
  memoryAtEnd: Record<string, number>;
  oomKills: number;
  limitHits: number;
  childDeaths: string[];
  zoneChanges: number;
  wentRed: boolean;
  backToGreen: boolean;
  causes: string[];
  /** Each zone change: seconds since the flood began, zone, causes, working set / limit. */
  zoneTimeline: string[];
  pivotLatencyUs: { count: number; p50: number; p99: number; max: number };
  offeredRecords: number;
  generator: GeneratorResult;
  sdk: { sent: number; delivered: number; failed: number; failuresByCode: Record<string, number> };
  acknowledgedRecords: number;
  receivedRecords: number;
  sdkIdsMissing: number;
  sdkIdsDuplicated: number;
  settleSeconds: number;
}

/** A string when the host cannot run the scenario (no cgroup, not root): the reason. */
export async function runSpike(o: SpikeOptions): Promise<SpikeReport | string> {
  const cgroup = createMemoryCgroup(o.limitBytes);
  if (typeof cgroup === 'string') return cgroup;
  const sink = await startSlowSink(o.sinkRecordsPerSecond);
  let engine: LaunchedEngine | undefined;
  try {
    engine = await launchEngine('spike', (dir, ringDir, port) => spikeConfig(dir, ringDir, port, sink.port), cgroup.dir);
    return await flood(o, cgroup, engine, sink);
  } finally {
    if (engine !== undefined) {
      await engine.stop(60_000);
      engine.cleanup();
    }
    await sink.close();
    cgroup.remove();
  }
}

/**
 * The engine on its defaults: only where it listens and where it exports. Every size comes
 * from the memory plan for the cgroup's limit (docs/operations.md); nothing is tuned here.
 */
function spikeConfig(dir: string, ringDir: string, port: number, sinkPort: number): object {
  return {
    data_dir: dir,
    // The other receivers are not used; their default ports may be another engine's.
    ingest: { otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir },
    exporters: [{ type: 'otlp_grpc', endpoint: `127.0.0.1:${sinkPort}` }],
  };
}

async function flood(o: SpikeOptions, cgroup: MemoryCgroup, engine: LaunchedEngine, sink: Awaited<ReturnType<typeof startSlowSink>>): Promise<SpikeReport> {
  let peak = 0;
  const floodStartedMs = Date.now();
  const sampler = setInterval(() => (peak = Math.max(peak, cgroup.usageBytes())), SAMPLE_EVERY_MS);
  const offered = o.sinkRecordsPerSecond * o.factor;
  const generatorRate = Math.max(1, (offered - o.sdkRecordsPerSecond) / o.generatorBatch);
  const generator = spawnNode(join(ROOT, 'dist/bench/load-generator.js'), [
    '--port', String(engine.port), '--batch', String(o.generatorBatch), '--connections', '2', '--inflight', '8',
    '--seconds', String(o.windowSeconds), '--rate', String(generatorRate),
  ]);
  let generatorOut = '';
  followLines(generator.stdout!, (line) => (generatorOut = line));

  const sdk = sdkSender(`http://127.0.0.1:${engine.port}`);
  let sent = 0;
  const started = performance.now();
  while (performance.now() - started < o.windowSeconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * o.sdkRecordsPerSecond);
    for (; sent < due; sent++) sdk.emit(`spike-${sent}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const sdkResult = await sdk.flush();
  await sdk.shutdown();
  if ((await exitWithin(generator, 60_000)) === undefined) throw new Error('the load generator did not finish');
  const gen = JSON.parse(generatorOut) as GeneratorResult;

  // The spike is over: the downstream takes everything again, and the engine pays its debt.
  sink.setRate(Infinity);
  const settleStarted = performance.now();
  const acknowledged = gen.logs_ok + sdkResult.delivered;
  let missing = 0;
  try {
    await sink.allArrived(sdk.deliveredIds, o.settleTimeoutMs);
    await sink.recordsReached(acknowledged, o.settleTimeoutMs - (performance.now() - settleStarted));
    // Green now, or the next zone change that makes it so.
    const since = engine.logs.length;
    const isLaterGreen = (l: LogLine): boolean => l.msg === 'zone changed' && l.zone === 'green' && engine.logs.indexOf(l) >= since;
    if (lastZone(engine.logs) !== 'green') await engine.waitForLog(isLaterGreen, o.settleTimeoutMs - (performance.now() - settleStarted));
  } catch {
    for (const id of sdk.deliveredIds) if (!sink.received.byId.has(id)) missing++;
  }
  clearInterval(sampler);
  const settleSeconds = (performance.now() - settleStarted) / 1000;
  await new Promise((resolve) => setTimeout(resolve, (o.restSeconds ?? 0) * 1000));
  if (process.env.SPIKE_LOG !== undefined) writeFileSync(process.env.SPIKE_LOG, engine.logs.map((l) => JSON.stringify(l)).join('\n'));

  const zoneLines = engine.logs.filter((l) => l.msg === 'zone changed');
  const pivots = engine.logs.filter((l) => l.msg === 'pivot to red reached ingest').map((l) => l.latencyUs as number).sort((a, b) => a - b);
  let duplicated = 0;
  for (const id of sdk.deliveredIds) if ((sink.received.byId.get(id) ?? 0) > 1) duplicated++;
  return {
    cgroup: `${cgroup.version} ${cgroup.dir}`,
    limitBytes: cgroup.limitBytes,
    peakBytes: Math.max(peak, cgroup.peakBytes()),
    memoryAtEnd: memoryAtEnd(cgroup, engine),
    oomKills: cgroup.oomKills(),
    limitHits: cgroup.limitHits(),
    childDeaths: engine.logs.filter((l) => l.msg === 'child exited unexpectedly; restarting').map((l) => `${String(l.child)} code ${String(l.code)} signal ${String(l.signal)}`),
    zoneChanges: zoneLines.length,
    wentRed: zoneLines.some((l) => l.zone === 'red'),
    backToGreen: lastZone(engine.logs) === 'green',
    causes: [...new Set(zoneLines.flatMap((l) => l.causes as string[]))],
    zoneTimeline: zoneLines.map((l) => `${((Date.parse(String(l.time)) - floodStartedMs) / 1000).toFixed(2)}s ${String(l.zone)} ${(l.causes as string[]).join('+')} mem ${String(l.memoryFraction)} ring ${String(l.greenRingFill)}`),
    pivotLatencyUs: { count: pivots.length, p50: quantile(pivots, 0.5), p99: quantile(pivots, 0.99), max: pivots.at(-1) ?? 0 },
    offeredRecords: Math.round(offered * o.windowSeconds),
    generator: gen,
    sdk: { sent, delivered: sdkResult.delivered, failed: sdkResult.failed, failuresByCode: Object.fromEntries(sdk.failuresByCode) },
    acknowledgedRecords: acknowledged,
    receivedRecords: sink.received.records,
    sdkIdsMissing: missing,
    sdkIdsDuplicated: duplicated,
    settleSeconds,
  };
}

function memoryAtEnd(cgroup: MemoryCgroup, engine: LaunchedEngine): Record<string, number> {
  const mib = (bytes: number): number => Math.round(bytes / 104857.6) / 10;
  const out: Record<string, number> = {};
  for (const [kind, bytes] of Object.entries(cgroup.breakdown())) out[kind] = mib(bytes);
  const pids = new Map([['supervisor', engine.child.pid!], ...engine.childPids()]);
  for (const [name, pid] of pids) {
    try {
      out[`${name}Rss`] = mib((statValue(readFileSync(`/proc/${pid}/status`, 'latin1'), 'VmRSS:') ?? 0) * 1024);
    } catch {
      out[`${name}Rss`] = -1;
    }
  }
  return out;
}

function lastZone(logs: readonly LogLine[]): string {
  return (logs.findLast((l) => l.msg === 'zone changed')?.zone as string | undefined) ?? 'green';
}


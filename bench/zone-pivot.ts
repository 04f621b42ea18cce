/**
 * `npm run bench:pivot`: how long a pivot to Red takes to reach the hot path. An engine with
 * small green rings and the file exporter is flooded with small requests; its exporter
 * falls behind, the green rings fill, and the pressure monitor pivots to Red (cause `ring`)
 * and back, again and again. Every ingest worker logs, for each decision to go Red, the time
 * from the decision to the first request it wrote to its red ring.
 *
 * The baseline, measured in the same run: the mean gap between two requests arriving at one
 * worker. A pivot cannot reach the hot path before the next request does, so latency over
 * gap says how much of the latency is ours. Knobs: PIVOT_SECONDS (default 30), PIVOT_BATCH
 * (records per request, default 10), PIVOT_ROUNDS (default 3).
 */
import { join } from 'node:path';
import { exitWithin, followLines, ROOT, spawnNode } from './child-io';
import type { GeneratorResult } from './load-generator';
import { describeMachine, median, quantile } from './report';
import { launchEngine } from './targets';

const MiB = 1024 * 1024;
const WORKERS = 2;

interface Round {
  pivots: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  requestsPerSecond: number;
  gapUs: number;
}

async function round(seconds: number, batch: number): Promise<Round> {
  const engine = await launchEngine('bench-pivot', (dir, ringDir, port) => ({
    data_dir: dir,
    ingest: { workers: WORKERS, max_message_bytes: MiB, otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir, green_bytes: 4 * MiB, red_bytes: 16 * MiB },
    vault: { auto_replay: false },
    exporters: [{ type: 'file', path: join(dir, 'out', 'logs.jsonl') }],
    supervisor: { shutdown_timeout_ms: 60_000 },
  }));
  try {
    const generator = spawnNode(join(ROOT, 'dist/bench/load-generator.js'), ['--port', String(engine.port), '--batch', String(batch), '--connections', '4', '--inflight', '16', '--seconds', String(seconds)]);
    let out = '';
    followLines(generator.stdout!, (line) => (out = line));
    if ((await exitWithin(generator, (seconds + 60) * 1000)) === undefined) throw new Error('the load generator did not finish');
    const result = JSON.parse(out) as GeneratorResult;
    const latencies = engine.logs.filter((l) => l.msg === 'pivot to red reached ingest').map((l) => l.latencyUs as number).sort((a, b) => a - b);
    const requestsPerSecond = result.requests_sent / result.elapsed_s;
    return {
      pivots: latencies.length,
      p50Us: quantile(latencies, 0.5),
      p99Us: quantile(latencies, 0.99),
      maxUs: latencies.at(-1) ?? 0,
      requestsPerSecond: Math.round(requestsPerSecond),
      gapUs: Math.round((WORKERS / requestsPerSecond) * 1e6),
    };
  } finally {
    await engine.stop(60_000);
    engine.cleanup();
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.PIVOT_SECONDS ?? 30);
  const batch = Number(process.env.PIVOT_BATCH ?? 10);
  const rounds = Number(process.env.PIVOT_ROUNDS ?? 3);
  console.log(describeMachine());
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = await round(seconds, batch);
    results.push(r);
    console.log(JSON.stringify({ round: i + 1, ...r, p50OverGap: +(r.p50Us / r.gapUs).toFixed(2) }));
  }
  const p50 = median(results.map((r) => r.p50Us));
  const p99 = median(results.map((r) => r.p99Us));
  const gap = median(results.map((r) => r.gapUs));
  console.log(`\nmedians over ${rounds} rounds of ${seconds} s, B=${batch}, ${WORKERS} workers: pivot latency p50 ${p50} µs, p99 ${p99} µs; request gap per worker ${gap} µs; p50/gap ${(p50 / gap).toFixed(2)}, p99/gap ${(p99 / gap).toFixed(2)}; pivots per round ${results.map((r) => r.pivots).join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

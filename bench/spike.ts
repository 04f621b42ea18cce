/**
 * `npm run bench:spike`: the 20x spike scenario at full size (bench/spike-scenario.ts).
 * Settings from the environment: SPIKE_SINK_RPS (downstream records/s, default 20000),
 * SPIKE_SECONDS (flood window, default 60), SPIKE_LIMIT_MIB (cgroup limit, default 256).
 */
import { runSpike } from './spike-scenario';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
  const sinkRps = env('SPIKE_SINK_RPS', 20_000);
  const report = await runSpike({
    limitBytes: env('SPIKE_LIMIT_MIB', 256) * MiB,
    sinkRecordsPerSecond: sinkRps,
    factor: 20,
    windowSeconds: env('SPIKE_SECONDS', 60),
    sdkRecordsPerSecond: Math.min(5000, sinkRps),
    generatorBatch: 1000,
    settleTimeoutMs: 600_000,
  });
  if (typeof report === 'string') {
    console.log(`cannot run here: ${report}`);
    process.exitCode = 1;
    return;
  }
  const g = report.generator;
  console.log(JSON.stringify(report, null, 1));
  console.log(`\noffered ${report.offeredRecords} records in the window; accepted ${report.acknowledgedRecords} (generator ${g.logs_ok} at ${(g.logs_ok / g.elapsed_s).toFixed(0)}/s, SDK ${report.sdk.delivered}); refused requests ${g.requests_refused} (all UNAVAILABLE: ${Object.keys(g.errors_by_status).length === 0})`);
  console.log(`peak ${(report.peakBytes / MiB).toFixed(1)} MiB of ${(report.limitBytes / MiB).toFixed(0)} MiB (${report.cgroup}); OOM kills ${report.oomKills}; limit hits ${report.limitHits}; child deaths ${report.childDeaths.length}`);
  console.log(`zone changes ${report.zoneChanges} (causes ${report.causes.join(', ')}); pivot latency µs p50 ${report.pivotLatencyUs.p50} p99 ${report.pivotLatencyUs.p99} max ${report.pivotLatencyUs.max} over ${report.pivotLatencyUs.count}`);
  console.log(`delivered ${report.receivedRecords} of ${report.acknowledgedRecords} acknowledged; SDK ids missing ${report.sdkIdsMissing}, duplicated ${report.sdkIdsDuplicated}; settled in ${report.settleSeconds.toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * `npm run bench:spike`: the 20x spike scenario at full size (bench/spike-scenario.ts).
 * The engine runs on its defaults: every size comes from the memory plan for the cgroup's
 * limit. Settings from the environment: SPIKE_SINK_RPS (downstream records/s, default
 * 20000), SPIKE_SECONDS (flood window, default 60), SPIKE_LIMITS_MIB (cgroup limits, one run
 * each, default "128,256,512,1024"; a limit below the plan's minimum must be refused at start).
 */
import { runSpike } from './spike-scenario';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
  const sinkRps = env('SPIKE_SINK_RPS', 20_000);
  const rows: string[] = [];
  for (const limitMib of (process.env.SPIKE_LIMITS_MIB ?? '128,256,512,1024').split(',').map(Number)) {
    console.log(`\n== ${limitMib} MiB`);
    let report;
    try {
      report = await runSpike({
        limitBytes: limitMib * MiB,
        sinkRecordsPerSecond: sinkRps,
        factor: 20,
        windowSeconds: env('SPIKE_SECONDS', 60),
        sdkRecordsPerSecond: Math.min(5000, sinkRps),
        generatorBatch: 1000,
        settleTimeoutMs: 600_000,
        // Idle rings give their pages back after 5 s, calm children collect within 30 s.
        restSeconds: 40,
      });
    } catch (err) {
      // Below the plan's minimum the engine must refuse to start, saying the minimum.
      const refused = /GS_CONFIG_INVALID[^"]*at least (\d+) MiB/.exec(String((err as Error).message));
      console.log(refused ? `refused at start, as it must be: the plan needs at least ${refused[1]} MiB` : `failed: ${String(err)}`);
      rows.push(`| ${limitMib} MiB | ${refused ? `refused at start (minimum ${refused[1]} MiB)` : 'FAILED to run'} |`);
      continue;
    }
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
    const end = report.memoryAtEnd;
    rows.push(`| ${limitMib} MiB | ${report.acknowledgedRecords} acked, ${report.receivedRecords} delivered, SDK ids missing ${report.sdkIdsMissing} dup ${report.sdkIdsDuplicated} | peak ${(report.peakBytes / MiB).toFixed(0)} MiB (${((report.peakBytes / report.limitBytes) * 100).toFixed(0)} %) | OOM ${report.oomKills}, deaths ${report.childDeaths.length} | red ${report.wentRed}, green again ${report.backToGreen} | refused ${g.requests_refused} (retryable ${Object.keys(g.errors_by_status).length === 0}) | settled ${report.settleSeconds.toFixed(0)} s | after: anon ${end.anon} + shmem ${end.shmem} MiB |`);
  }
  console.log(`\n${rows.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

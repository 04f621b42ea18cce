/**
 * Pivot latency: from the pressure monitor's decision to go Red to the first request this
 * worker wrote to its red ring. Observed once per decision, so a histogram costs nothing here.
 */
import { Histogram } from '../common/prom-lite';
import { registry } from '../common/metrics';

// 50 µs to 1 s: the goal is under 1 ms; past that, the buckets show how far off.
const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const pivotLatency = new Histogram({
  name: 'gophership_pivot_latency_seconds',
  help: "Time from the pressure monitor's decision to go Red to the first request an ingest worker wrote to its red ring.",
  buckets: BUCKETS,
  registers: [registry],
});

export function observePivot(latencyNs: bigint): void {
  pivotLatency.observe(Number(latencyNs) / 1e9);
}

/**
 * prom-client's default process metrics (RSS, heap, event-loop lag, GC, handles) on this
 * process's registry, labelled with the process's name (`supervisor`, `ingest-0`, …): the
 * supervisor serves every process's series side by side, so they must not add up. They keep
 * their conventional names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …),
 * unprefixed, so that stock Node.js dashboards and alerts match them.
 */
import { collectDefaultMetricsLite } from './prom-lite';
import { registry } from './metrics';

/**
 * prom-client's handle, request and resource totals: gauges despite their `_total` suffix,
 * which Prometheus reads as a counter. Left out: `sum by (process)` of the per-type gauges
 * (`nodejs_active_handles` …) gives the same number.
 */
const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function collectProcessMetrics(processName: string): void {
  collectDefaultMetricsLite(registry, '', { process: processName });
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
}

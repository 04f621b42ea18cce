/**
 * prom-client's default process metrics (RSS, heap, event-loop lag, GC, handles) on this
 * process's registry, labelled with the process's name (`supervisor`, `ingest-0`, …): the
 * supervisor serves every process's series side by side, so they must not add up.
 */
import { collectDefaultMetricsLite } from './prom-lite';
import { registry } from './metrics';

export const METRIC_PREFIX = 'gophership_';

export function collectProcessMetrics(processName: string): void {
  collectDefaultMetricsLite(registry, METRIC_PREFIX, { process: processName });
}

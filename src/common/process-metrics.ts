/**
 * prom-client's default process metrics (RSS, heap, event-loop lag, GC, handles) on this
 * process's registry, labelled with the process's name (`supervisor`, `ingest-0`, …): the
 * supervisor serves every process's series side by side, so they must not add up.
 */
import { collectDefaultMetrics } from 'prom-client';
import { registry } from './metrics';

export const METRIC_PREFIX = 'gophership_';

export function collectProcessMetrics(processName: string): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX, labels: { process: processName } });
}

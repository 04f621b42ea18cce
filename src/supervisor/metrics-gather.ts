/**
 * Builds one scrape out of every process's registry: the supervisor's own and each child's,
 * asked over IPC with a short timeout, merged with prom-client's AggregatorRegistry. Series
 * with the same labels add up (two ingest workers' request counters become one); per-process
 * series carry a `process` label and stay apart.
 *
 * A child that does not answer in time is left out of that scrape and counted; it never
 * holds the scrape up. A restarted child starts its counters at zero, which Prometheus would
 * read as a reset of the whole sum: so the last counters seen from each dead incarnation are
 * kept and added in, and the sum never goes down. A silent child's last counters stand in
 * for it likewise (its gauges are left out: they would be stale).
 */
import { AggregatorRegistry, type Registry } from '../common/prom-lite';
import type { MetricsSnapshot } from '../common/child-protocol';
import { registry } from '../common/metrics';
import { mirroredCounter } from '../common/mirrored-metrics';
import type { ChildSlot } from './child-slot';

interface SlotHistory {
  pid: number | undefined;
  last: MetricsSnapshot | undefined;
  /** Counters and histograms of earlier incarnations, summed. */
  retired: MetricsSnapshot;
}

const MONOTONIC_TYPES = new Set(['counter', 'histogram']);

export class MetricsGatherer {
  private readonly history = new Map<string, SlotHistory>();
  private readonly timeouts = new Map<string, number>();
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly slots: () => readonly ChildSlot[],
    private readonly timeoutMs: number,
  ) {
    mirroredCounter({
      name: 'gophership_metrics_child_timeouts_total',
      help: 'Scrapes that left out a running child because it did not answer within metrics.child_timeout_ms, by process.',
      labelNames: ['process'],
      // Every child is served from the start, at 0 until it first misses a scrape.
      read: (r) => this.slots().forEach(({ name }) => r({ process: name }, this.timeouts.get(name) ?? 0)),
    });
  }

  /**
   * The aggregated registry of the whole engine, for one scrape. Scrapes run one at a time:
   * two at once would both retire a restarted child's last counters, and count them twice.
   */
  gather(): Promise<Registry> {
    const run = this.previous.then(() => this.gatherNow());
    this.previous = run.catch(() => undefined);
    return run;
  }

  private async gatherNow(): Promise<Registry> {
    const children = await Promise.all(this.slots().map((slot) => this.fromChild(slot)));
    const parts: MetricsSnapshot[] = [await registry.getMetricsAsJSON()];
    for (const part of children) parts.push(...part);
    return AggregatorRegistry.aggregate(parts);
  }

  private async fromChild(slot: ChildSlot): Promise<MetricsSnapshot[]> {
    const pid = slot.pid;
    const metrics = pid === undefined ? undefined : await slot.metrics(this.timeoutMs);
    const h = this.history.get(slot.name) ?? { pid: undefined, last: undefined, retired: [] };
    this.history.set(slot.name, h);
    if (metrics === undefined) {
      if (slot.pid !== undefined && slot.pid === pid) this.timeouts.set(slot.name, (this.timeouts.get(slot.name) ?? 0) + 1);
    } else {
      if (h.pid !== pid && h.last !== undefined) h.retired = await retire(h.retired, h.last);
      h.pid = pid;
      h.last = metrics;
    }
    if (metrics !== undefined) return [h.retired, metrics];
    // Silent (busy, dead, not restarted yet): its last counters stand in, so no sum goes down.
    return h.last === undefined ? [h.retired] : [h.retired, monotonic(h.last)];
  }
}

async function retire(retired: MetricsSnapshot, last: MetricsSnapshot): Promise<MetricsSnapshot> {
  return AggregatorRegistry.aggregate([retired, monotonic(last)]).getMetricsAsJSON();
}

function monotonic(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.filter((m) => MONOTONIC_TYPES.has(String(m.type)));
}

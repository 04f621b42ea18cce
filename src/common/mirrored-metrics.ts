/**
 * Prometheus series that mirror plain numbers. Hot paths (a request in ingest, a record in
 * the vault) only bump a field of their own; the values are copied into the registry when it
 * is read, at scrape time. That costs the hot path nothing, where a prom-client labelled
 * `inc()` hashes its labels into a string on every call.
 */
import { Counter, Gauge } from './prom-lite';
import { registry } from './metrics';

/** Called at scrape time; reports each series' current value. */
export type Reader<L extends string> = (report: (labels: Partial<Record<L, string>>, value: number) => void) => void;

export interface MirroredMetric<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: Reader<L>;
}

/** A counter whose value is a number that only grows (per process lifetime). */
export function mirroredCounter<L extends string>(m: MirroredMetric<L>): Counter<L> {
  return new Counter<L>({ ...options(m), collect() {
    this.reset();
    m.read((labels, value) => this.inc(labels, value));
  } });
}

export function mirroredGauge<L extends string>(m: MirroredMetric<L>): Gauge<L> {
  return new Gauge<L>({ ...options(m), collect() {
    this.reset();
    m.read((labels, value) => this.set(labels, value));
  } });
}

function options<L extends string>(m: MirroredMetric<L>): { name: string; help: string; labelNames: readonly L[]; registers: [typeof registry] } {
  return { name: m.name, help: m.help, labelNames: m.labelNames ?? [], registers: [registry] };
}

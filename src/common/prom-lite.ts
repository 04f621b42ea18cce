/**
 * prom-client's registry and metric classes, loaded without its index. The index also loads
 * the pushgateway, summaries and @opentelemetry/api (for exemplars, which we do not use):
 * about 4.5 MiB of resident memory in every process, against 0.4 MiB for these files
 * (measured: docs/benchmarks.md, "Resting footprint"). The files are prom-client's own; the
 * types are its published ones; package-lock.json pins the version these paths are from.
 */
import type * as Prom from 'prom-client';

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
/** The supervisor merges its children's series with it. */
export const AggregatorRegistry = require('prom-client/lib/cluster') as typeof Prom.AggregatorRegistry;
export type Registry = Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

type DefaultMetric = (registry: Prom.Registry, config: { prefix: string; labels: Record<string, string> }) => void;

/**
 * prom-client's default process and Node.js metrics, but for the CPU counters, whose module
 * needs @opentelemetry/api: those three are kept here with the same names and meaning.
 */
export function collectDefaultMetricsLite(registry: Prom.Registry, prefix: string, labels: Record<string, string>): void {
  const modules = ['processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'eventLoopLag', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc'];
  if (typeof process.getActiveResourcesInfo === 'function') modules.push('processResources');
  for (const name of modules) (require(`prom-client/lib/metrics/${name}`) as DefaultMetric)(registry, { prefix, labels });
  let last = process.cpuUsage();
  const counter = (name: string, help: string): Prom.Counter => new Counter({ name: `${prefix}${name}`, help, labelNames: Object.keys(labels), registers: [registry] });
  const user = counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.');
  const system = counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.');
  new Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'Total user and system CPU time spent in seconds.',
    labelNames: Object.keys(labels),
    registers: [registry],
    // One collect sets all three, as prom-client's own module does.
    collect() {
      const now = process.cpuUsage();
      user.inc(labels, (now.user - last.user) / 1e6);
      system.inc(labels, (now.system - last.system) / 1e6);
      this.inc(labels, (now.user - last.user + now.system - last.system) / 1e6);
      last = now;
    },
  });
}

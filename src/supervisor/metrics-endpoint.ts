/**
 * Puts the metrics pieces together for the supervisor: its own series, the gatherer that
 * adds the children's, readiness, and the HTTP listener; nothing at all with
 * metrics.enabled: false.
 */
import type { Config } from '../common/config';
import type { Logger } from '../common/log';
import { collectProcessMetrics } from '../common/process-metrics';
import type { ChildSlot } from './child-slot';
import type { ControlRefusals } from './control-refusals';
import { checkReadiness } from './health-readiness';
import { MetricsGatherer } from './metrics-gather';
import { MetricsServer } from './metrics-server';
import { registerSupervisorMetrics } from './supervisor-metrics';
import { registerZoneMetrics } from './zone-metrics';
import { registerMemoryPlanMetrics } from './memory-plan-metrics';
import type { ZoneMonitor } from './zone-monitor';
import type { RingHeaders } from './ring-headers';

export interface EngineView {
  /** Every child slot, in a stable order. */
  slots(): readonly ChildSlot[];
  ingest(): readonly ChildSlot[];
  stopping(): boolean;
  zones: ZoneMonitor;
  rings: RingHeaders;
  controlRefusals: ControlRefusals;
}

/** Call after the rings exist. */
export async function startMetricsEndpoint(config: Config, engine: EngineView, log: Logger): Promise<MetricsServer | undefined> {
  const m = config.metrics;
  if (!m.enabled) return undefined;
  collectProcessMetrics('supervisor');
  registerSupervisorMetrics(engine.rings, engine.slots, engine.controlRefusals);
  registerZoneMetrics(engine.zones);
  registerMemoryPlanMetrics(config.memory.plan);
  const gatherer = new MetricsGatherer(engine.slots, m.child_timeout_ms);
  const server = await MetricsServer.listen(
    m.listen.host,
    m.listen.port,
    {
      gather: () => gatherer.gather(),
      readiness: () => checkReadiness(engine.stopping(), engine.ingest(), m.child_timeout_ms, m.refusing_window_ms),
    },
    log,
  );
  log.info('metrics endpoint listening', { metrics: `http://${m.listen.host.includes(':') ? `[${m.listen.host}]` : m.listen.host}:${server.port}/metrics` });
  return server;
}

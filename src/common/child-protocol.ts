/**
 * Messages on the IPC channel between the supervisor and its children. Bulk bytes never
 * travel here (they go through the rings); this is control only, a closed set of types.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Config } from './config';

export type ChildRole = 'ingest' | 'export' | 'vault';

/** A process's registry as `registry.getMetricsAsJSON()` gives it; the supervisor aggregates them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Supervisor -> child. `metrics` asks for the registry; the answer carries the same id. */
export type SupervisorMessage = { type: 'shutdown'; graceMs: number } | { type: 'replay' } | { type: 'metrics'; id: number };

/** Child -> supervisor. */
export type ChildMessage = { type: 'ready' } | { type: 'drained' } | { type: 'metrics'; id: number; metrics: MetricsSnapshot };

/** What a child is told at fork time, through its environment. */
export interface ChildSpec {
  role: ChildRole;
  index: number;
  config: Config;
  /** To tell whether the supervisor died before this child asked to die with it. */
  supervisorPid: number;
  /** Listening Unix socket fds handed down by the supervisor, by listen address. */
  inheritedFds: Record<string, number>;
}

export const CHILD_SPEC_ENV = 'GOPHERSHIP_CHILD_SPEC';

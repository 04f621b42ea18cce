/**
 * Messages on the IPC channel between the supervisor and its children. Bulk bytes never
 * travel here (they go through the rings); this is control only, a closed set of types.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { EngineConfig } from './config';

export type ChildRole = 'ingest' | 'export' | 'vault';

/** A process's registry as `registry.getMetricsAsJSON()` gives it; the supervisor aggregates them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Supervisor -> child. */
export type SupervisorMessage =
  | { type: 'shutdown'; graceMs: number }
  | { type: 'replay' }
  /** Asks for the registry; the answer carries the same id. */
  | { type: 'metrics'; id: number }
  /** Stop the online replay at its next batch boundary (vault). */
  | { type: 'replay-stop' }
  /** Read the TLS certificate and key files again (ingest; on SIGHUP). */
  | { type: 'reload-tls' };

/** Child -> supervisor. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'drained' }
  | { type: 'metrics'; id: number; metrics: MetricsSnapshot }
  /** The online replay, at most once a second while it runs and once when it ends (vault). */
  | { type: 'replay-progress'; replay: ReplayState }
  /** Once a second (vault): bytes on disk, and records not yet replayed. */
  | { type: 'vault-stats'; bytes: number; records: number }
  /** A batch failed and will be retried (exporter): the reason, with its GS_* code. */
  | { type: 'export-error'; error: string };

export interface ReplayState {
  state: 'running' | 'done' | 'stopped' | 'failed';
  records: number;
  bytes: number;
  cursor: number;
  recordsPerSecond: number;
  elapsedMs: number;
  error?: string;
}

/** What a child is told at fork time, through its environment. */
export interface ChildSpec {
  role: ChildRole;
  index: number;
  config: EngineConfig;
  /** To tell whether the supervisor died before this child asked to die with it. */
  supervisorPid: number;
  /** Listening Unix socket fds handed down by the supervisor, by listen address. */
  inheritedFds: Record<string, number>;
}

export const CHILD_SPEC_ENV = 'GOPHERSHIP_CHILD_SPEC';

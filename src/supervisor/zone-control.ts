/**
 * What the rest of the supervisor (control plane, metrics) may see of and do to the zone.
 * The pressure monitor implements it; callers depend on this shape only.
 */
import type { Zone, ZoneMode } from '../common/zone-cell';

export type { Zone, ZoneMode };

export interface PressureInputs {
  /** Where the limit comes from: `cgroup-v2`, `cgroup-v1` or `host` (MemAvailable). */
  source: 'cgroup-v2' | 'cgroup-v1' | 'host';
  usageBytes: number;
  limitBytes: number;
  /** PSI `some`/`full` avg10 as a fraction, where the kernel reports it. */
  psiSome?: number;
  psiFull?: number;
  /** Resident memory of the supervisor and all its children. */
  treeRssBytes: number;
  /** The fullest green ring, as a fraction of its capacity. */
  greenRingFill: number;
  redRingFill: number;
}

export interface ZoneStatus {
  zone: Zone;
  mode: ZoneMode;
  /** Epoch milliseconds of the last zone change. */
  sinceMs: number;
  inputs: PressureInputs;
  thresholds: { yellow: number; red: number; recover: number; ringYellow: number; ringRed: number };
}

export interface ZoneControl {
  status(): ZoneStatus;
  force(mode: ZoneMode): void;
}

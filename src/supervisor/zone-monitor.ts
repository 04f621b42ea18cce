/**
 * The pressure monitor: samples memory (cgroup or host), PSI and ring fill at a jittered
 * interval, decides the zone (zone-policy.ts) and publishes it in the shared zone cell that
 * every process reads. Jitter keeps the sampling from locking into step with a periodic
 * load (a GC cycle, a batch timer) and missing its peaks every time.
 */
import type { Config } from '../common/config';
import type { Logger } from '../common/log';
import { ZoneCause, type ZoneCell } from '../common/zone-cell';
import type { MemorySource } from '../common/memory-source';
import { PsiFile, armPsiTrigger } from './psi';
import type { RingHeaders } from './ring-headers';
import { treePssBytes } from './tree-rss';
import type { ZoneControl, ZoneMode, ZoneStatus } from './zone-control';
import { ZonePolicy, type ZoneDecision } from './zone-policy';

/**
 * Proportional set sizes walk every mapping (milliseconds for a tree of Node processes):
 * informative only (status, metrics), so read when asked, at most once a second, never in a
 * sample.
 */
const TREE_RSS_EVERY_MS = 1000;

export interface ZoneMonitorOptions {
  zones: Config['zones'];
  cell: ZoneCell;
  memory: MemorySource;
  rings: RingHeaders;
  /** The supervisor's and children's pids, for the tree's memory. */
  pids: () => number[];
  log: Logger;
}

export class ZoneMonitor implements ZoneControl {
  private readonly policy: ZonePolicy;
  private readonly psi: PsiFile | undefined;
  private disarmTrigger: (() => void) | undefined;
  private psiFired = false;
  private mode: ZoneMode;
  private decision: ZoneDecision;
  private inputs: Omit<ZoneStatus['inputs'], 'treeRssBytes'>;
  private timer: NodeJS.Timeout | undefined;
  private tree = { readAtMs: -Infinity, bytes: 0 };
  private failing = false;
  /** Zone changes so far, by "from>to". */
  readonly transitions = new Map<string, number>();

  constructor(private readonly o: ZoneMonitorOptions) {
    this.policy = new ZonePolicy(o.zones);
    this.psi = o.memory.psiPath === undefined ? undefined : new PsiFile(o.memory.psiPath);
    this.mode = o.zones.force;
    this.decision = { zone: 'green', causes: 0, sinceMs: Date.now() };
    this.inputs = { source: o.memory.kind, usageBytes: 0, limitBytes: 0, greenRingFill: 0, redRingFill: 0 };
    // The cell outlives engines (it sits with the rings): never let a new one start from an old zone.
    o.cell.publish('green', 0, process.hrtime.bigint());
  }

  start(): void {
    const { memory, zones, log } = this.o;
    if (this.psi !== undefined && zones.psi_trigger !== '') {
      try {
        this.disarmTrigger = armPsiTrigger(this.psi.path, zones.psi_trigger, () => {
          this.psiFired = true;
          this.sample();
        });
      } catch (err) {
        log.warn('PSI trigger refused by the kernel; PSI averages are still sampled', { psi: this.psi.path, trigger: zones.psi_trigger, err });
      }
    }
    this.sample();
    log.info('pressure monitor started', {
      source: memory.kind,
      cgroup: memory.path,
      limitBytes: this.inputs.limitBytes,
      psi: this.psi?.path ?? 'none',
      psiTrigger: this.disarmTrigger === undefined ? 'off' : zones.psi_trigger,
      sampleIntervalMs: zones.sample_interval_ms,
      mode: this.mode,
    });
  }

  status(): ZoneStatus {
    const z = this.o.zones;
    return {
      zone: this.decision.zone,
      mode: this.mode,
      sinceMs: this.decision.sinceMs,
      inputs: { ...this.inputs, treeRssBytes: this.treeRssBytes() },
      thresholds: { yellow: z.yellow, red: z.red, recover: z.recover, ringYellow: z.ring_yellow, ringRed: z.ring_red },
    };
  }

  force(mode: ZoneMode): void {
    this.o.log.info('zone mode set', { mode, was: this.mode });
    this.mode = mode;
    this.sample();
  }

  close(): void {
    clearTimeout(this.timer);
    this.disarmTrigger?.();
    this.psi?.close();
    this.o.memory.close();
  }

  private sample(): void {
    clearTimeout(this.timer);
    try {
      this.decide();
    } catch (err) {
      // A cgroup file that went away mid-run: keep the last zone, say so, keep trying.
      if (!this.failing) this.o.log.error('reading memory pressure failed; the zone stays as it is until a reading works', { err });
      this.failing = true;
    }
    this.timer = setTimeout(() => this.sample(), this.o.zones.sample_interval_ms * (0.5 + Math.random())).unref();
  }

  private treeRssBytes(): number {
    const now = performance.now();
    if (now - this.tree.readAtMs >= TREE_RSS_EVERY_MS) this.tree = { readAtMs: now, bytes: treePssBytes([process.pid, ...this.o.pids()]) };
    return this.tree.bytes;
  }

  private decide(): void {
    const nowMs = Date.now();
    const { memory, rings } = this.o;
    const reading = memory.read();
    const psi = this.psi?.read();
    const inputs = this.inputs;
    inputs.usageBytes = reading.usageBytes;
    inputs.limitBytes = reading.limitBytes;
    inputs.psiSome = psi?.some;
    inputs.psiFull = psi?.full;
    inputs.greenRingFill = rings.fullest('green');
    inputs.redRingFill = rings.fullest('red');

    const sample = { memory: reading.usageBytes / reading.limitBytes, psiSome: psi?.some ?? 0, psiFired: this.psiFired, greenRing: inputs.greenRingFill };
    this.psiFired = false;
    const decided = this.policy.next(this.decision, sample, nowMs);
    const next = this.mode === 'auto' ? decided : { zone: this.mode, causes: ZoneCause.Forced, sinceMs: this.mode === this.decision.zone ? this.decision.sinceMs : nowMs };
    this.failing = false;
    // The pivot's clock starts here, with the decision, not with the readings before it.
    if (next.zone !== this.decision.zone || next.causes !== this.decision.causes) this.publish(next, process.hrtime.bigint());
  }

  private publish(next: ZoneDecision, decidedAt: bigint): void {
    const previous = this.decision;
    this.decision = next;
    this.o.cell.publish(next.zone, next.causes, decidedAt);
    if (next.zone === previous.zone) return;
    const key = `${previous.zone}>${next.zone}`;
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
    const i = this.inputs;
    this.o.log.info('zone changed', {
      zone: next.zone,
      from: previous.zone,
      causes: causeNames(next.causes),
      memoryFraction: round(i.usageBytes / i.limitBytes),
      usageBytes: i.usageBytes,
      limitBytes: i.limitBytes,
      psiSome: i.psiSome,
      greenRingFill: round(i.greenRingFill),
      inPreviousMs: next.sinceMs - previous.sinceMs,
    });
  }
}

function causeNames(causes: number): string[] {
  const names: string[] = [];
  if (causes & ZoneCause.Memory) names.push('memory');
  if (causes & ZoneCause.Psi) names.push('psi');
  if (causes & ZoneCause.Ring) names.push('ring');
  if (causes & ZoneCause.Forced) names.push('forced');
  return names;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

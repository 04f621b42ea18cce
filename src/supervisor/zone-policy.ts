/**
 * The decision, apart from any I/O: given the latest pressure sample, which zone now.
 *
 * Climbing is a reflex: one sample past a threshold moves the zone at once, so a spike is
 * met within one sampling interval. Coming down is deliberate: it follows a moving average
 * (a single calm sample in a storm means nothing), must fall below the lower `recover`
 * thresholds to reach Green (hysteresis), and only after `min_dwell_ms` in the zone, so the
 * engine does not flap between paths.
 */
import type { Config } from '../common/config';
import { ZoneCause, type Zone } from '../common/zone-cell';

export interface PressureSample {
  /** Working set as a fraction of the limit. */
  memory: number;
  /** PSI `some` avg10 as a fraction; 0 where the kernel has no PSI. */
  psiSome: number;
  /** A PSI trigger fired since the previous sample. */
  psiFired: boolean;
  /** Fill of the fullest green ring. */
  greenRing: number;
}

export interface ZoneDecision {
  zone: Zone;
  causes: number;
  /** Milliseconds (any clock, as long as it is always the same) of the last change. */
  sinceMs: number;
}

const LEVEL: Record<Zone, number> = { green: 0, yellow: 1, red: 2 };

export class ZonePolicy {
  private memoryAvg: number | undefined;
  private ringAvg: number | undefined;

  constructor(private readonly t: Config['zones']) {}

  next(current: ZoneDecision, s: PressureSample, nowMs: number): ZoneDecision {
    const a = this.t.ewma_alpha;
    this.memoryAvg = this.memoryAvg === undefined ? s.memory : a * s.memory + (1 - a) * this.memoryAvg;
    this.ringAvg = this.ringAvg === undefined ? s.greenRing : a * s.greenRing + (1 - a) * this.ringAvg;

    const t = this.t;
    const now = this.judge(s.memory, s.greenRing, s.psiSome, s.psiFired, [t.red, t.yellow], [t.ring_red, t.ring_yellow]);
    if (LEVEL[now.zone] > LEVEL[current.zone]) return { ...now, sinceMs: nowMs };

    const calm = this.judge(this.memoryAvg, this.ringAvg, s.psiSome, s.psiFired, [t.yellow, t.recover], [t.ring_yellow, t.ring_recover]);
    if (LEVEL[calm.zone] < LEVEL[current.zone] && nowMs - current.sinceMs >= this.t.min_dwell_ms) return { ...calm, sinceMs: nowMs };
    // Staying: keep the causes current (they tell exporters why the zone is Red).
    const causes = LEVEL[calm.zone] === LEVEL[current.zone] ? calm.causes : current.causes;
    return causes === current.causes ? current : { ...current, causes };
  }

  /** The zone these readings call for, given where Red and Yellow start: [red, yellow]. */
  private judge(memory: number, ring: number, psiSome: number, psiFired: boolean, memoryAt: readonly [number, number], ringAt: readonly [number, number]): Omit<ZoneDecision, 'sinceMs'> {
    let red = 0;
    if (memory >= memoryAt[0]) red |= ZoneCause.Memory;
    if (psiSome >= this.t.psi_red) red |= ZoneCause.Psi;
    if (ring >= ringAt[0]) red |= ZoneCause.Ring;
    if (red !== 0) return { zone: 'red', causes: red };
    let warn = 0;
    if (memory >= memoryAt[1]) warn |= ZoneCause.Memory;
    if (psiFired) warn |= ZoneCause.Psi;
    if (ring >= ringAt[1]) warn |= ZoneCause.Ring;
    return { zone: warn !== 0 ? 'yellow' : 'green', causes: warn };
  }
}

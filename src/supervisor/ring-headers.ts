/**
 * Every ring as the supervisor sees it: mapped once, at start, only to read the headers
 * (two atomic loads a ring) for the zones, the metrics and `gs-ctl status`. The supervisor
 * never reads or writes a record. The set is fixed: rings are made before any child starts.
 */
import { attachRing, type Ring } from '../common/ring';
import { REPLAY_RING, listRings, replayRingPath, ringPath, type RingColor } from '../common/ring-layout';

export interface RingHeader {
  /** green-0, red-1, replay. */
  name: string;
  color: RingColor | typeof REPLAY_RING;
  ring: Ring;
}

export class RingHeaders {
  readonly all: readonly RingHeader[];
  private readonly byName: ReadonlyMap<string, Ring>;

  constructor(dir: string) {
    const all: RingHeader[] = [];
    for (const color of ['green', 'red'] as const) {
      for (const i of listRings(dir, color)) all.push({ name: `${color}-${i}`, color, ring: attachRing(ringPath(dir, color, i)) });
    }
    all.push({ name: REPLAY_RING, color: REPLAY_RING, ring: attachRing(replayRingPath(dir)) });
    this.all = all;
    this.byName = new Map(all.map((h) => [h.name, h.ring]));
  }

  get(name: string): Ring | undefined {
    return this.byName.get(name);
  }

  /** The fill of the fullest ring of this color, from 0 to 1. */
  fullest(color: RingColor): number {
    let max = 0;
    for (const h of this.all) if (h.color === color) max = Math.max(max, h.ring.used() / h.ring.capacity);
    return max;
  }
}

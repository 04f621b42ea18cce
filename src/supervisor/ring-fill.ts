/**
 * How full the rings are, read from their headers (two atomic loads a ring). The supervisor
 * maps them only to look; it never reads or writes a record.
 */
import { attachRing, type Ring } from '../common/ring';
import { listRings, ringPath, type RingColor } from '../common/ring-layout';

export class RingFill {
  private readonly rings: Record<RingColor, Ring[]>;

  constructor(dir: string) {
    const open = (color: RingColor): Ring[] => listRings(dir, color).map((i) => attachRing(ringPath(dir, color, i)));
    this.rings = { green: open('green'), red: open('red') };
  }

  /** The fill of the fullest ring of this color, from 0 to 1. */
  fullest(color: RingColor): number {
    let max = 0;
    for (const ring of this.rings[color]) max = Math.max(max, ring.used() / ring.capacity);
    return max;
  }
}

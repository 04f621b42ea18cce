/**
 * The supervisor's own series: its children's state, and the fill of every ring, read from
 * the ring headers (the supervisor maps the rings but never reads a record).
 */
import type { Config } from '../common/config';
import { mirroredCounter, mirroredGauge } from '../common/mirrored-metrics';
import { attachRing, type Ring } from '../common/ring';
import { REPLAY_RING, listRings, replayRingPath, ringPath } from '../common/ring-layout';
import { VERSION } from '../common/version';
import type { ChildSlot } from './child-slot';

export function registerSupervisorMetrics(config: Config, slots: () => readonly ChildSlot[]): void {
  mirroredGauge({ name: 'gophership_build_info', help: 'Always 1; the version label says which GopherShip runs.', labelNames: ['version'], read: (r) => r({ version: VERSION }, 1) });
  mirroredGauge({
    name: 'gophership_child_up',
    help: 'Whether a child process runs and has reported ready (1) or not (0), by role and process.',
    labelNames: ['role', 'process'],
    read: (r) => slots().forEach((s) => r({ role: s.role, process: s.name }, s.ready ? 1 : 0)),
  });
  mirroredCounter({
    name: 'gophership_child_restarts_total',
    help: 'Restarts of a child process after it died unexpectedly, by role and process.',
    labelNames: ['role', 'process'],
    read: (r) => slots().forEach((s) => r({ role: s.role, process: s.name }, s.restarts)),
  });

  const rings = attachRings(config);
  mirroredGauge({
    name: 'gophership_ring_used_bytes',
    help: 'Bytes published into a ring and not yet committed by its reader, by ring and color.',
    labelNames: ['ring', 'color'],
    read: (r) => rings.forEach(({ ring, color }, name) => r({ ring: name, color }, ring.used())),
  });
  mirroredGauge({
    name: 'gophership_ring_capacity_bytes',
    help: 'Data capacity of a ring, by ring and color.',
    labelNames: ['ring', 'color'],
    read: (r) => rings.forEach(({ ring, color }, name) => r({ ring: name, color }, ring.capacity)),
  });
}

/** Every ring in rings.dir (left-overs of a run with more workers included) and the replay ring. */
function attachRings(config: Config): Map<string, { ring: Ring; color: string }> {
  const dir = config.rings.dir;
  const rings = new Map<string, { ring: Ring; color: string }>();
  for (const color of ['green', 'red'] as const) {
    for (const i of listRings(dir, color)) rings.set(`${color}-${i}`, { ring: attachRing(ringPath(dir, color, i)), color });
  }
  rings.set(REPLAY_RING, { ring: attachRing(replayRingPath(dir)), color: REPLAY_RING });
  return rings;
}

/**
 * The supervisor's own series: its children's state, refused control connections, and the
 * fill of every ring.
 */
import { mirroredCounter, mirroredGauge } from '../common/mirrored-metrics';
import { VERSION } from '../common/version';
import type { ChildSlot } from './child-slot';
import { REFUSAL_REASONS, type ControlRefusals } from './control-refusals';
import type { RingHeaders } from './ring-headers';

export function registerSupervisorMetrics(rings: RingHeaders, slots: () => readonly ChildSlot[], refusals: ControlRefusals): void {
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
  mirroredCounter({
    name: 'gophership_control_refused_connections_total',
    help: 'Control connections refused: uid not in control.allowed_uids, peer not identified, or TLS handshake failed.',
    labelNames: ['reason'],
    read: (r) => REFUSAL_REASONS.forEach((reason) => r({ reason }, refusals.counts[reason])),
  });

  mirroredGauge({
    name: 'gophership_ring_used_bytes',
    help: 'Bytes published into a ring and not yet committed by its reader, by ring and color.',
    labelNames: ['ring', 'color'],
    read: (r) => rings.all.forEach(({ name, color, ring }) => r({ ring: name, color }, ring.used())),
  });
  mirroredGauge({
    name: 'gophership_ring_capacity_bytes',
    help: 'Data capacity of a ring, by ring and color.',
    labelNames: ['ring', 'color'],
    read: (r) => rings.all.forEach(({ name, color, ring }) => r({ ring: name, color }, ring.capacity)),
  });
}

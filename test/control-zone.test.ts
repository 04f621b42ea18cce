/**
 * The control plane's zone handling. Nothing in this branch implements ZoneControl yet (the
 * pressure monitor does), so these tests give it a small in-test object that implements the
 * interface and records what it was told; the rest of the control plane is tested end to end.
 */
import test from 'ava';
import { InvalidArgumentError } from '../src/common/errors';
import { setZoneMode, zoneStatusMessage } from '../src/supervisor/control-zone';
import type { ZoneControl, ZoneMode, ZoneStatus } from '../src/supervisor/zone-control';

function inTestZone(): ZoneControl & { forced: ZoneMode[] } {
  let status: ZoneStatus = {
    zone: 'green',
    mode: 'auto',
    sinceMs: Date.parse('2026-01-01T00:00:00Z'),
    inputs: { source: 'cgroup-v2', usageBytes: 300, limitBytes: 1000, psiSome: 0.25, treeRssBytes: 120, greenRingFill: 0.5, redRingFill: 0 },
    thresholds: { yellow: 0.7, red: 0.85, recover: 0.6, ringYellow: 0.5, ringRed: 0.8 },
  };
  const forced: ZoneMode[] = [];
  return {
    forced,
    status: () => status,
    force(mode) {
      forced.push(mode);
      status = { ...status, mode, zone: mode === 'auto' ? 'green' : mode, sinceMs: status.sinceMs + 1 };
    },
  };
}

test('zone status carries the zone, mode, inputs and thresholds in the proto shape', (t) => {
  t.deepEqual(zoneStatusMessage(inTestZone()), {
    zone: 'green',
    mode: 'auto',
    since_ms: Date.parse('2026-01-01T00:00:00Z'),
    inputs: { source: 'cgroup-v2', usage_bytes: 300, limit_bytes: 1000, psi_some: 0.25, tree_rss_bytes: 120, green_ring_fill: 0.5, red_ring_fill: 0 },
    thresholds: { yellow: 0.7, red: 0.85, recover: 0.6, ring_yellow: 0.5, ring_red: 0.8 },
  });
});

test('setting a mode forces it on the monitor and answers with the status after the change', (t) => {
  const zone = inTestZone();
  t.is(setZoneMode(zone, 'red').zone, 'red');
  t.is(setZoneMode(zone, 'auto').mode, 'auto');
  t.deepEqual(zone.forced, ['red', 'auto']);
});

test('an unknown mode is refused before the monitor is touched', (t) => {
  const zone = inTestZone();
  t.throws(() => setZoneMode(zone, 'purple'), { instanceOf: InvalidArgumentError, message: /one of auto, green, yellow, red, not "purple"/ });
  t.deepEqual(zone.forced, []);
});

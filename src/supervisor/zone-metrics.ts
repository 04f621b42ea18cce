/**
 * The pressure monitor's series, read from it at scrape time: the zone, its transitions, and
 * the inputs it decides on.
 */
import { mirroredCounter, mirroredGauge } from '../common/mirrored-metrics';
import { ZONES } from '../common/zone-cell';
import type { ZoneMonitor } from './zone-monitor';

export function registerZoneMetrics(monitor: ZoneMonitor): void {
  mirroredGauge({
    name: 'gophership_zone',
    help: '1 for the zone the engine is in, 0 for the other two, by zone (green, yellow, red).',
    labelNames: ['zone'],
    read: (r) => {
      const current = monitor.status().zone;
      for (const zone of ZONES) r({ zone }, zone === current ? 1 : 0);
    },
  });
  mirroredCounter({
    name: 'gophership_zone_transitions_total',
    help: 'Zone changes, by the zone left and the zone entered.',
    labelNames: ['from', 'to'],
    // Every pair is served from the start, at 0 until it happens.
    read: (r) => {
      for (const from of ZONES) for (const to of ZONES) if (from !== to) r({ from, to }, monitor.transitions.get(`${from}>${to}`) ?? 0);
    },
  });
  mirroredGauge({ name: 'gophership_memory_usage_bytes', help: 'Working set the zones are judged on: cgroup usage minus inactive file pages, or host RAM in use.', read: (r) => r({}, monitor.status().inputs.usageBytes) });
  mirroredGauge({ name: 'gophership_memory_limit_bytes', help: 'The memory limit that applies: the tightest cgroup limit, or host RAM.', read: (r) => r({}, monitor.status().inputs.limitBytes) });
  mirroredGauge({
    name: 'gophership_memory_pressure_stall_ratio',
    help: 'PSI memory avg10: share of time some (or all) tasks stalled on memory; absent without PSI.',
    labelNames: ['kind'],
    read: (r) => {
      const { psiSome, psiFull } = monitor.status().inputs;
      if (psiSome !== undefined) r({ kind: 'some' }, psiSome);
      if (psiFull !== undefined) r({ kind: 'full' }, psiFull);
    },
  });
  mirroredGauge({ name: 'gophership_process_tree_rss_bytes', help: 'Proportional set size of the supervisor and its children together (shared pages split among sharers).', read: (r) => r({}, monitor.status().inputs.treeRssBytes) });
}

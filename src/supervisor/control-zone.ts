/** The zone part of the control plane: reading and pinning the zone through the pressure monitor's ZoneControl. */
import type { ZoneStatusMessage } from '../common/control-proto';
import { InvalidArgumentError } from '../common/errors';
import { ZONE_MODES } from '../common/zone-cell';
import type { ZoneControl, ZoneMode, ZoneStatus } from './zone-control';

export function zoneStatusMessage(zone: ZoneControl): ZoneStatusMessage {
  return toMessage(zone.status());
}

export function setZoneMode(zone: ZoneControl, mode: string): ZoneStatusMessage {
  if (!ZONE_MODES.includes(mode as ZoneMode)) throw new InvalidArgumentError(`zone mode must be one of ${ZONE_MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  zone.force(mode as ZoneMode);
  return toMessage(zone.status());
}

function toMessage(s: ZoneStatus): ZoneStatusMessage {
  const { inputs: i, thresholds: t } = s;
  return {
    zone: s.zone,
    mode: s.mode,
    since_ms: s.sinceMs,
    inputs: {
      source: i.source,
      usage_bytes: i.usageBytes,
      limit_bytes: i.limitBytes,
      ...(i.psiSome === undefined ? {} : { psi_some: i.psiSome }),
      ...(i.psiFull === undefined ? {} : { psi_full: i.psiFull }),
      tree_rss_bytes: i.treeRssBytes,
      green_ring_fill: i.greenRingFill,
      red_ring_fill: i.redRingFill,
    },
    thresholds: { yellow: t.yellow, red: t.red, recover: t.recover, ring_yellow: t.ringYellow, ring_red: t.ringRed },
  };
}

/**
 * The zone part of the control plane: reading and pinning the zone through the pressure
 * monitor's ZoneControl. The monitor may be absent (not built into this engine, or not yet
 * started): requests then fail with one clear reason instead of a guess.
 */
import type { ZoneStatusMessage } from '../common/control-proto';
import { ControlUnavailableError, InvalidArgumentError } from '../common/errors';
import { ZONE_MODES } from '../common/zone-cell';
import type { ZoneControl, ZoneMode, ZoneStatus } from './zone-control';


const NO_MONITOR = 'zone monitor not available: this engine runs no pressure monitor, so the zone cannot be read or set';

export function zoneStatusMessage(zone: ZoneControl | undefined): ZoneStatusMessage {
  if (zone === undefined) throw new ControlUnavailableError(NO_MONITOR);
  return toMessage(zone.status());
}

export function setZoneMode(zone: ZoneControl | undefined, mode: string): ZoneStatusMessage {
  if (!ZONE_MODES.includes(mode as ZoneMode)) throw new InvalidArgumentError(`zone mode must be one of ${ZONE_MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  if (zone === undefined) throw new ControlUnavailableError(NO_MONITOR);
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

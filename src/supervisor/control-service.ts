/**
 * What the control plane answers, independent of how requests arrive (control-server.ts).
 * It keeps what children report over IPC (replay progress, vault size, exporter errors),
 * reads ring fill straight from the shared ring headers, and acts through the supervisor.
 */
import type { ChildMessage, ReplayState, SupervisorMessage } from '../common/child-protocol';
import type { EngineConfig } from '../common/config';
import type { DrainReportMessage, EngineStatusMessage, ExporterStatusMessage, MemoryStatusMessage, ReplayStatusMessage, RingStatusMessage, ZoneStatusMessage } from '../common/control-proto';
import { ControlUnavailableError } from '../common/errors';
import type { Logger } from '../common/log';
import { REPLAY_RING, listRings, ringsOfExporter } from '../common/ring-layout';
import { VERSION } from '../common/version';
import type { ChildSlot } from './child-slot';
import type { RingHeaders } from './ring-headers';
import { setZoneMode, zoneStatusMessage } from './control-zone';
import type { ZoneControl } from './zone-control';

/** The supervisor, as the control plane sees it. */
export interface ControlledEngine {
  children(): readonly ChildSlot[];
  sendToVault(msg: SupervisorMessage): boolean;
  /** Starts the ordered shutdown; resolves once every child has exited. */
  drainChildren(): Promise<void>;
  readonly draining: boolean;
  /** The rings' headers; there once the engine has started. */
  rings(): RingHeaders;
}

const IDLE_REPLAY: ReplayStatusMessage = { state: 'idle', records: 0, bytes: 0, cursor: 0, records_per_second: 0, elapsed_ms: 0, error: '' };

export class ControlService {
  private replay: ReplayStatusMessage = IDLE_REPLAY;
  private vault = { bytes: 0, records: 0 };
  private readonly exportErrors = new Map<string, { error: string; atMs: number }>();
  private readonly startedMs = Date.now();

  constructor(
    private readonly config: EngineConfig,
    private readonly engine: ControlledEngine,
    private readonly log: Logger,
    private readonly zone: ZoneControl,
  ) {}

  onChildMessage(child: string, msg: ChildMessage): void {
    if (msg.type === 'replay-progress') this.replay = replayMessage(msg.replay);
    else if (msg.type === 'vault-stats') this.vault = { bytes: msg.bytes, records: msg.records };
    else if (msg.type === 'export-error') this.exportErrors.set(child, { error: msg.error, atMs: Date.now() });
  }

  /** A child (re)started. A vault that restarts has lost the replay it was running. */
  onChildReady(child: string): void {
    if (child !== 'vault-0' || this.replay.state !== 'running') return;
    this.replay = { ...this.replay, state: 'failed', error: 'the vault process restarted during the replay; run the replay again to resume at the cursor' };
  }

  status(): EngineStatusMessage {
    const rings = this.ringStatus();
    let zone: ZoneStatusMessage | null = null;
    let zoneError = '';
    try {
      zone = zoneStatusMessage(this.zone);
    } catch (err) {
      zoneError = (err as Error).message;
    }
    return {
      version: VERSION,
      pid: process.pid,
      uptime_ms: Date.now() - this.startedMs,
      zone,
      zone_error: zoneError,
      children: this.engine.children().map((c) => ({ name: c.name, role: c.role, index: c.index, pid: c.pid ?? 0, uptime_ms: c.uptimeMs, restarts: c.restarts })),
      rings,
      vault: { dir: this.config.vault.dir, ...this.vault },
      replay: this.replay,
      exporters: this.exporterStatus(),
      draining: this.engine.draining,
      memory: this.memoryStatus(zone, rings),
    };
  }

  private memoryStatus(zone: ZoneStatusMessage | null, rings: readonly RingStatusMessage[]): MemoryStatusMessage {
    const plan = this.config.memory.plan;
    return {
      limit_bytes: plan.limit_bytes,
      limit_source: plan.limit_source,
      fraction: plan.fraction,
      budget_bytes: plan.budget_bytes,
      plan_bytes: plan.total_bytes,
      parts: Object.entries(plan.parts).map(([part, bytes]) => ({ part, bytes })),
      sizes: Object.entries(plan.sizes).map(([key, s]) => ({ key, value: s.value, source: s.source })),
      usage_bytes: zone?.inputs.usage_bytes ?? 0,
      tree_rss_bytes: zone?.inputs.tree_rss_bytes ?? 0,
      ring_used_bytes: rings.reduce((sum, r) => sum + r.used_bytes, 0),
    };
  }

  setZone(mode: string): ZoneStatusMessage {
    const status = setZoneMode(this.zone, mode);
    this.log.info('zone mode set by the control plane', { mode });
    return status;
  }

  startReplay(): ReplayStatusMessage {
    this.refuseWhileDraining('replay');
    if (this.replay.state === 'running') return this.replay;
    if (!this.engine.sendToVault({ type: 'replay' })) throw new ControlUnavailableError('the vault process is not running (restarting?); try again in a moment');
    this.log.info('replay requested from the vault');
    // Running from now on, not only once the vault's first report arrives.
    this.replay = { ...IDLE_REPLAY, state: 'running', cursor: this.replay.cursor };
    return this.replay;
  }

  getReplay(): ReplayStatusMessage {
    return this.replay;
  }

  stopReplay(): ReplayStatusMessage {
    if (this.replay.state === 'running' && this.engine.sendToVault({ type: 'replay-stop' })) this.log.info('replay stop requested');
    return this.replay;
  }

  async drain(): Promise<DrainReportMessage> {
    this.refuseWhileDraining('drain');
    const started = Date.now();
    this.log.info('drain requested by the control plane: the engine exits once the rings are flushed');
    await this.engine.drainChildren();
    const rings = this.ringStatus();
    const left = rings.reduce((sum, r) => sum + r.used_bytes, 0);
    this.log.info('drained', { ringBytesLeft: left, tookMs: Date.now() - started });
    return { ring_bytes_left: left, rings, took_ms: Date.now() - started };
  }

  private refuseWhileDraining(what: string): void {
    if (this.engine.draining) throw new ControlUnavailableError(`the engine is draining; no ${what} now`);
  }

  private ringMessage(name: string): RingStatusMessage {
    const ring = this.engine.rings().get(name)!;
    return { name, used_bytes: ring.used(), capacity_bytes: ring.capacity };
  }

  private ringStatus(): RingStatusMessage[] {
    return this.engine.rings().all.map((h) => this.ringMessage(h.name));
  }

  private exporterStatus(): ExporterStatusMessage[] {
    const green = listRings(this.config.rings.dir, 'green');
    const exporters = this.config.export.processes;
    const out: ExporterStatusMessage[] = [];
    for (let e = 0; e < exporters; e++) {
      const rings = ringsOfExporter(green, e, exporters).map((i) => this.ringMessage(`green-${i}`));
      if (e === 0) rings.push(this.ringMessage(REPLAY_RING));
      const name = `export-${e}`;
      const last = this.exportErrors.get(name);
      out.push({ name, backlog_bytes: rings.reduce((sum, r) => sum + r.used_bytes, 0), last_error: last?.error ?? '', last_error_ms: last?.atMs ?? 0 });
    }
    return out;
  }
}

function replayMessage(r: ReplayState): ReplayStatusMessage {
  return { state: r.state, records: r.records, bytes: r.bytes, cursor: r.cursor, records_per_second: r.recordsPerSecond, elapsed_ms: Math.round(r.elapsedMs), error: r.error ?? '' };
}

/**
 * The supervisor: owns the rings and the listening Unix sockets, forks and restarts the
 * children, and orders the shutdown. It never touches log bytes.
 *
 * Shutdown order matters for "nothing lost": ingest workers stop first (GOAWAY, finish
 * in-flight requests), and only then are the exporters asked to empty the rings and exit.
 */
import { makeDirs } from '../common/make-dirs';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildRole, SupervisorMessage } from '../common/child-protocol';
import { formatListen, type Config, type EngineConfig } from '../common/config';
import type { Logger } from '../common/log';
import { ChildSlot } from './child-slot';
import { startMetricsEndpoint } from './metrics-endpoint';
import type { MetricsServer } from './metrics-server';
import { ControlRefusals } from './control-refusals';
import { ControlServer } from './control-server';
import { ControlService, type ControlledEngine } from './control-service';
import { PidFile } from '../common/pid-file';
import { RingDir } from './ring-dir';
import { setUpRings } from './ring-setup';
import { UnixListeners } from './unix-listeners';
import { probeIngestPorts } from './listen-probe';
import { detectMemorySource } from '../common/memory-source';
import { RingHeaders } from './ring-headers';
import { ZoneMonitor } from './zone-monitor';

const CHILD_DIR = join(__dirname, '..');

export class Supervisor implements ControlledEngine {
  private readonly ingest: ChildSlot[] = [];
  private readonly exporters: ChildSlot[] = [];
  private readonly vault: ChildSlot[] = [];
  private listeners: UnixListeners | undefined;
  private metrics: MetricsServer | undefined;
  private pidFile: PidFile | undefined;
  private ringDir: RingDir | undefined;
  private stopping: Promise<void> | undefined;
  private zones: ZoneMonitor | undefined;
  private ringHeaders: RingHeaders | undefined;
  private childrenStopped: Promise<void> | undefined;
  private controlServer: ControlServer | undefined;
  /** Made in start(), with the pressure monitor, before any child or control connection. */
  private control: ControlService | undefined;
  private resolveStopped!: () => void;
  /** Resolves once the engine has stopped, whoever asked (a signal, `gs-ctl drain`). */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Resolves once the listeners are open and the children forked; `engine ready` is logged when they all are. */
  async start(): Promise<void> {
    const { config: loaded, log } = this;
    makeDirs(loaded.data_dir, 0o700);
    warnIfWritableByOthers(loaded.data_dir, log);
    this.pidFile = PidFile.acquire(join(loaded.data_dir, 'gophership.pid'));
    const plan = loaded.memory.plan;
    log.info('memory plan', {
      limitBytes: plan.limit_bytes,
      limitSource: plan.limit_source,
      budgetBytes: plan.budget_bytes,
      planBytes: plan.total_bytes,
      parts: plan.parts,
      sizes: Object.fromEntries(Object.entries(plan.sizes).map(([key, s]) => [key, `${s.value} (${s.source})`])),
    });
    // Before anything is made: a port another engine holds ends the start with nothing to undo.
    await probeIngestPorts(loaded);
    this.ringDir = RingDir.open(loaded, log);
    const config: EngineConfig = { ...loaded, rings: { ...loaded.rings, dir: this.ringDir.path } };
    const cell = setUpRings(config, log);
    const rings = new RingHeaders(config.rings.dir);
    this.ringHeaders = rings;
    const zones = new ZoneMonitor({
      zones: config.zones,
      cell,
      memory: detectMemorySource(),
      rings,
      pids: () => this.children().flatMap((s) => (s.pid === undefined ? [] : [s.pid])),
      log,
    });
    this.zones = zones;
    const control = new ControlService(config, this, log, zones);
    this.control = control;
    // Decided before any child forks, so that every child starts in the right zone.
    zones.start();
    const refusals = new ControlRefusals(log);
    this.metrics = await startMetricsEndpoint(config, {
      controlRefusals: refusals,
      slots: () => this.children(),
      ingest: () => this.ingest,
      stopping: () => this.stopping !== undefined,
      zones,
      rings,
    }, log);
    this.listeners = await UnixListeners.open(config);
    this.controlServer = await ControlServer.open(config, control, log, refusals);
    // A signal while the listeners opened has run the shutdown already: fork nothing.
    if (this.stopping !== undefined) {
      this.listeners.close();
      await this.metrics?.close();
      await this.controlServer.close();
      return;
    }

    // `engine ready` means every child has said so once, the vault and exporters included:
    // a record accepted then has its whole path up. A child that cannot start (it crash-loops,
    // saying why) holds it back without holding back the start: ingest serves meanwhile.
    let pending = 1 + config.export.processes + config.ingest.workers;
    const ready = (): void => {
      if (this.stopping !== undefined) return;
      log.info('engine ready', {
        otlp_grpc: config.ingest.otlp_grpc.listen.map(formatListen),
        otlp_http: config.ingest.otlp_http.listen.map(formatListen),
        lines: config.ingest.lines.listen.map(formatListen),
        workers: config.ingest.workers,
        exporters: config.export.processes,
        data_dir: config.data_dir,
        control: [`unix:${config.control.socket}`, ...(config.control.tcp === null ? [] : [formatListen(config.control.tcp.listen)])],
      });
    };
    const onFirstReady = (): (() => void) => {
      let first = true;
      return () => {
        if (first && --pending === 0) ready();
        first = false;
      };
    };
    this.vault.push(this.slot(config, 'vault', 0, join(CHILD_DIR, 'vault/main.js'), new Map(), onFirstReady()));
    for (let i = 0; i < config.export.processes; i++) {
      this.exporters.push(this.slot(config, 'export', i, join(CHILD_DIR, 'export/main.js'), new Map(), onFirstReady()));
    }
    for (let i = 0; i < config.ingest.workers; i++) {
      this.ingest.push(this.slot(config, 'ingest', i, join(CHILD_DIR, 'ingest/main.js'), this.listeners.fds, onFirstReady()));
    }
    for (const slot of [...this.vault, ...this.exporters, ...this.ingest]) slot.start();
  }

  children(): readonly ChildSlot[] {
    return [...this.ingest, ...this.exporters, ...this.vault];
  }

  sendToVault(msg: SupervisorMessage): boolean {
    return this.vault[0]?.send(msg) ?? false;
  }

  rings(): RingHeaders {
    return this.ringHeaders!;
  }

  get draining(): boolean {
    return this.stopping !== undefined;
  }

  drainChildren(): Promise<void> {
    void this.stop();
    return this.childrenStopped!;
  }

  /** SIGHUP: ingest workers and the control plane read their certificates and keys again. */
  reloadTls(): void {
    for (const slot of this.ingest) slot.send({ type: 'reload-tls' });
    this.controlServer?.reloadTls();
  }

  /** Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const started = Date.now();
    this.childrenStopped = this.stopChildren();
    await this.childrenStopped;
    // After the children, so that a drain's caller gets its report.
    await this.controlServer?.close();
    this.listeners?.close();
    this.zones?.close();
    await this.metrics?.close();
    this.ringDir?.close(this.log);
    this.pidFile?.release();
    this.log.info('stopped', { tookMs: Date.now() - started });
    this.resolveStopped();
  }

  private async stopChildren(): Promise<void> {
    // A start that failed before forking has nothing to drain, and must not say it drains.
    if (this.children().length === 0) return;
    const started = Date.now();
    const grace = this.config.supervisor.shutdown_timeout_ms;
    this.log.info('stopping: draining ingest workers', { graceMs: grace });
    await Promise.all(this.ingest.map((s) => s.stop(grace)));
    this.log.info('stopping: exporters and the vault empty the rings');
    const left = Math.max(1000, grace - (Date.now() - started));
    await Promise.all([...this.exporters, ...this.vault].map((s) => s.stop(left)));
  }

  private slot(config: EngineConfig, role: ChildRole, index: number, script: string, fds: ReadonlyMap<string, number>, onReady?: () => void): ChildSlot {
    const name = `${role}-${index}`;
    const onMessage = (msg: Parameters<ControlService['onChildMessage']>[1]): void => this.control?.onChildMessage(name, msg);
    const ready = (): void => {
      this.control?.onChildReady(name);
      onReady?.();
    };
    return new ChildSlot({ role, index, script, config, fds, log: this.log, onReady: ready, onMessage });
  }
}

/**
 * data_dir holds the sockets and the pid file: whoever may write the directory may replace
 * them. An existing directory keeps its mode (it may be shared on purpose), but it is said.
 */
function warnIfWritableByOthers(dir: string, log: Logger): void {
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o022) !== 0) log.warn('data_dir is writable by its group or by others, who could replace its sockets; chmod it to 0700', { data_dir: dir, mode: mode.toString(8) });
}

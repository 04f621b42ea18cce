/**
 * The supervisor: owns the rings and the listening Unix sockets, forks and restarts the
 * children, and orders the shutdown. It never touches log bytes.
 *
 * Shutdown order matters for "nothing lost": ingest workers stop first (GOAWAY, finish
 * in-flight requests), and only then are the exporters asked to empty the rings and exit.
 */
import { makeDirs } from '../common/make-dirs';
import { join } from 'node:path';
import type { ChildRole } from '../common/child-protocol';
import { formatListen, type Config } from '../common/config';
import type { Logger } from '../common/log';
import { ChildSlot } from './child-slot';
import { PidFile } from '../common/pid-file';
import { setUpRings } from './ring-setup';
import { UnixListeners } from './unix-listeners';

const CHILD_DIR = join(__dirname, '..');

export class Supervisor {
  private readonly ingest: ChildSlot[] = [];
  private readonly exporters: ChildSlot[] = [];
  private readonly vault: ChildSlot[] = [];
  private listeners: UnixListeners | undefined;
  private pidFile: PidFile | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Resolves when every ingest worker is listening. */
  async start(): Promise<void> {
    const { config, log } = this;
    makeDirs(config.data_dir, 0o700);
    this.pidFile = PidFile.acquire(join(config.data_dir, 'gophership.pid'));
    setUpRings(config, log);
    this.listeners = await UnixListeners.open(config);
    // A signal while the listeners opened has run the shutdown already: fork nothing.
    if (this.stopping !== undefined) {
      this.listeners.close();
      return;
    }

    this.vault.push(this.slot('vault', 0, join(CHILD_DIR, 'vault/main.js'), new Map()));
    for (let i = 0; i < config.export.processes; i++) {
      this.exporters.push(this.slot('export', i, join(CHILD_DIR, 'export/main.js'), new Map()));
    }
    let pending = config.ingest.workers;
    const allReady = new Promise<void>((resolve) => {
      for (let i = 0; i < config.ingest.workers; i++) {
        let first = true;
        const slot = this.slot('ingest', i, join(CHILD_DIR, 'ingest/main.js'), this.listeners!.fds, () => {
          if (first && --pending === 0) resolve();
          first = false;
        });
        this.ingest.push(slot);
      }
    });
    for (const slot of [...this.vault, ...this.exporters, ...this.ingest]) slot.start();
    await allReady;
    log.info('engine ready', {
      otlp_grpc: config.ingest.otlp_grpc.listen.map(formatListen),
      otlp_http: config.ingest.otlp_http.listen.map(formatListen),
      lines: config.ingest.lines.listen.map(formatListen),
      workers: config.ingest.workers,
      exporters: config.export.processes,
      data_dir: config.data_dir,
    });
  }

  /** Asks the vault to replay into the exporters while the engine runs. */
  requestReplay(): boolean {
    const sent = this.vault[0]?.send({ type: 'replay' }) ?? false;
    this.log.info(sent ? 'replay requested from the vault' : 'replay not requested: the vault is not running');
    return sent;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const started = Date.now();
    const grace = this.config.supervisor.shutdown_timeout_ms;
    this.log.info('stopping: draining ingest workers', { graceMs: grace });
    await Promise.all(this.ingest.map((s) => s.stop(grace)));
    this.log.info('stopping: exporters and the vault empty the rings');
    const left = Math.max(1000, grace - (Date.now() - started));
    await Promise.all([...this.exporters, ...this.vault].map((s) => s.stop(left)));
    this.listeners?.close();
    this.pidFile?.release();
    this.log.info('stopped', { tookMs: Date.now() - started });
  }

  private slot(role: ChildRole, index: number, script: string, fds: ReadonlyMap<string, number>, onReady?: () => void): ChildSlot {
    return new ChildSlot({ role, index, script, config: this.config, fds, log: this.log, onReady });
  }
}

/**
 * `gs-ctl replay`: exports the raw vault through the exporters of a configuration file while
 * the engine is stopped. It takes the engine's pid file for as long as it runs: an engine
 * started meanwhile would write the vault being replayed (and deleted), so it is refused.
 * With --online it asks a running engine, through the control plane, to replay its own vault.
 */
import { Command, Option } from 'clipanion';
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Config } from '../common/config';
import { GopherShipError } from '../common/errors';
import { createLogger, setLogFormat, setLogLevel } from '../common/log';
import { makeDirs } from '../common/make-dirs';
import { ExportPipeline } from '../export/export-pipeline';
import { EngineRunningError, PidFile } from '../common/pid-file';
import { replayVault, type ReplaySummary } from '../vault/replayer';
import { recoverVault } from '../vault/vault-dir';
import { EXIT_CODES_HELP, EngineCommand } from './engine-command';
import { ProgressPrinter } from './replay-progress';
import { followOnlineReplay, stopOnlineReplay } from './replay-online';

/** The bound vault.replay_records_per_second has in the configuration. */
const MAX_RATE = 100_000_000;

export class ReplayCommand extends EngineCommand {
  static override paths = [['replay']];
  static override usage = Command.Usage({
    description: 'Replay the raw vault into the configured exporters: here with the engine stopped, or by the running engine (--online).',
    details: `
      Recovers the vault first (cuts off torn tails a crash left), then exports every record
      above the replay cursor (\`<vault>/replay-cursor.json\`) in sequence order, in batches,
      to the exporters of the configuration file (\`--config\`; without it, those of the
      embedded defaults: the vault ./var/vault and the file exporter writing
      ./var/out/logs.jsonl, as \`gophership run\` without --config). After each batch the cursor is saved; a
      segment whose records are all exported is deleted. A replay that is interrupted, even
      killed, resumes at the cursor when run again: the batch it was in may be exported
      twice, nothing is skipped. Records that cannot be decoded go to the dead-letter file
      (\`export.dead_letter_path\`) and the replay goes on.

      The engine must be stopped: while it runs (\`<data_dir>/gophership.pid\` names a live
      process) the replay refuses, and while the replay runs the engine refuses to start.

      To replay beside a running engine, add \`--online\`: gs-ctl asks the engine through its
      control plane (the control socket of --config, or --addr), and the engine's vault
      process feeds its closed segments through the engine's own exporters, at most
      \`vault.replay_records_per_second\`, deleting what is exported. gs-ctl follows the
      progress until the replay ends (\`--detach\`: returns once it started); Ctrl-C stops
      following, not the replay. \`--stop\` stops the engine's replay once the batches it
      handed to the exporter (at most four) are exported; the next replay resumes at the cursor. \`gs-ctl status\` shows the replay too.

      Progress goes to stdout: one updating line on a terminal, otherwise (or with --json)
      a JSON line at most once a second (\`{"records","bytes","rate","eta_s"}\`) and a final
      summary line (\`{"done":true,...}\`). SIGINT or SIGTERM stops an offline replay after
      the batch in hand.

      Offline, exit 1 means the replay did not run or did not finish (the engine is running,
      an I/O error, a damaged segment header or replay cursor, a signal); online, that the
      replay failed or was stopped.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Replay the vault of a stopped engine', '$0 replay --config /etc/gophership/gophership.yaml'],
      ['Replay the vault of a stopped engine on the embedded defaults', '$0 replay'],
      ['Replay a copied vault at 5000 records per second', '$0 replay --config gophership.yaml --vault /mnt/copy/vault --rate 5000'],
      ['Have the running engine replay its vault, and follow it', '$0 replay --online --config /etc/gophership/gophership.yaml'],
      ['Stop the running engine\'s replay', '$0 replay --stop --config /etc/gophership/gophership.yaml'],
    ],
  });

  vault = Option.String('--vault', { description: 'Vault directory (default: vault.dir of the configuration)' });
  rate = Option.String('--rate', { description: 'At most this many records per second (default: vault.replay_records_per_second)' });
  online = Option.Boolean('--online', false, { description: 'Ask the running engine to replay its own vault, and follow its progress' });
  detach = Option.Boolean('--detach', false, { description: 'With --online: return once the replay has started' });
  stop = Option.Boolean('--stop', false, { description: 'Stop the running engine\'s online replay' });

  async execute(): Promise<number> {
    if (this.stop) return this.withEngine((engine, timeoutMs) => stopOnlineReplay(engine, timeoutMs, this));
    if (this.online) return this.withEngine((engine, timeoutMs) => followOnlineReplay(engine, timeoutMs, this.detach, this));
    if (this.detach || this.addr !== undefined || this.socket !== undefined || this.tls) return this.usageError('--detach, --addr, --socket and --tls go with --online or --stop');
    const config = this.engineConfig(this.configPath);
    if (typeof config === 'string') return this.usageError(config);
    const rate = this.rate === undefined ? config.vault.replay_records_per_second : Number(this.rate);
    if (!Number.isSafeInteger(rate) || rate < 1 || rate > MAX_RATE) {
      return this.usageError(`--rate takes a whole number of records per second from 1 to ${MAX_RATE}, not ${this.rate}`);
    }
    // A mistyped --vault must not read as an empty vault; an absent default vault is one.
    if (this.vault !== undefined && statSync(this.vault, { throwIfNoEntry: false })?.isDirectory() !== true) {
      return this.usageError(`--vault ${this.vault} is not a directory`);
    }
    setLogLevel(config.log_level);
    setLogFormat(config.log_format);
    const progress = new ProgressPrinter(this.context.stdout, this.json);
    let summary: ReplaySummary;
    try {
      summary = await replayOffline(config, resolve(this.vault ?? config.vault.dir), rate, progress);
    } catch (err) {
      progress.abandon();
      this.context.stderr.write(`gs-ctl replay: ${err instanceof GopherShipError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
      return 1;
    }
    if (summary.completed) return 0;
    this.context.stderr.write(`gs-ctl replay: stopped by a signal with the cursor at seq ${summary.cursor}; run the same command again to resume\n`);
    return 1;
  }
}

async function replayOffline(config: Config, vaultDir: string, rate: number, progress: ProgressPrinter): Promise<ReplaySummary & { deadLettered: number }> {
  makeDirs(config.data_dir, 0o700);
  const pidFile = acquireEngineLock(join(config.data_dir, 'gophership.pid'));
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const recovered = recoverVault(vaultDir);
    const pipeline = new ExportPipeline(config, createLogger('gs-ctl-replay'));
    try {
      const summary = await replayVault({
        dir: vaultDir,
        handle: ({ segment, records }) => pipeline.export(records, (r) => `vault ${basename(segment)} seq ${r.seq}`, 'replay'),
        recordsPerSecond: rate,
        vaultRecords: recovered.records,
        onProgress: (p) => progress.update(p),
        signal: stop.signal,
      });
      const result = { ...summary, deadLettered: pipeline.deadLettered };
      progress.finish(result);
      return result;
    } finally {
      await pipeline.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    pidFile.release();
  }
}

function acquireEngineLock(path: string): PidFile {
  try {
    return PidFile.acquire(path);
  } catch (err) {
    if (!(err instanceof EngineRunningError)) throw err;
    throw new EngineRunningError(
      `${path} names a live process (pid ${ownerOf(path)}): offline replay needs the engine stopped; stop it, or add --online to have the engine replay`,
    );
  }
}

function ownerOf(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * `gs-ctl replay`: exports the raw vault through the exporters of a configuration file while
 * the engine is stopped. It takes the engine's pid file for as long as it runs: an engine
 * started meanwhile would write the vault being replayed (and deleted), so it is refused.
 */
import { Command, Option } from 'clipanion';
import { CtlCommand } from './ctl-command';
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { loadConfig, type Config } from '../common/config';
import { GopherShipError } from '../common/errors';
import { createLogger, setLogLevel } from '../common/log';
import { makeDirs } from '../common/make-dirs';
import { ExportPipeline } from '../export/export-pipeline';
import { EngineRunningError, PidFile } from '../common/pid-file';
import { replayVault, type ReplayProgress, type ReplaySummary } from '../vault/replayer';
import { recoverVault } from '../vault/vault-dir';

/** The bound vault.replay_records_per_second has in the configuration. */
const MAX_RATE = 100_000_000;
const JSON_PROGRESS_EVERY_MS = 1000;
const TTY_PROGRESS_EVERY_MS = 200;

export class ReplayCommand extends CtlCommand {
  static override paths = [['replay']];
  static override usage = Command.Usage({
    description: 'Replay the raw vault into the configured exporters while the engine is stopped.',
    details: `
      Recovers the vault first (cuts off torn tails a crash left), then exports every record
      above the replay cursor (\`<vault>/replay-cursor.json\`) in sequence order, in batches,
      to the exporters of the configuration file. After each batch the cursor is saved; a
      segment whose records are all exported is deleted. A replay that is interrupted, even
      killed, resumes at the cursor when run again: the batch it was in may be exported
      twice, nothing is skipped. Records that cannot be decoded go to the dead-letter file
      (\`export.dead_letter_path\`) and the replay goes on.

      The engine must be stopped: while it runs (\`<data_dir>/gophership.pid\` names a live
      process) the replay refuses, and while the replay runs the engine refuses to start.
      To replay beside a running engine, add \`--online\`: the engine's vault process then feeds
      its closed segments through the engine's own exporters, at most
      \`vault.replay_records_per_second\`, and deletes what is exported; the engine logs
      "replay progress" and "replay done". Until the control plane exists, \`--online\` sends
      SIGUSR2 to the supervisor named by the pid file and returns at once.

      Progress goes to stdout: one updating line on a terminal, otherwise a JSON line at most
      once a second (\`{"records","bytes","rate","eta_s"}\`) and a final summary line
      (\`{"done":true,...}\`). SIGINT or SIGTERM stops the replay after the batch in hand.

      Exit codes: 0 the vault is replayed; 1 the replay did not run or did not finish (the
      engine is running, an I/O error, a damaged segment header or replay cursor, a signal),
      with a one-line reason on stderr; 2 usage error (unknown option, missing or invalid
      configuration file, bad --rate or --vault).
    `,
    examples: [
      ['Replay the vault of a stopped engine', '$0 replay --config /etc/gophership/gophership.yaml'],
      ['Replay a copied vault at 5000 records per second', '$0 replay --config gophership.yaml --vault /mnt/copy/vault --rate 5000'],
      ['Ask the running engine to replay its vault', '$0 replay --config /etc/gophership/gophership.yaml --online'],
    ],
  });

  config = Option.String('--config,-c', { required: true, description: 'YAML configuration file of the engine whose vault to replay' });
  vault = Option.String('--vault', { description: 'Vault directory (default: vault.dir of the configuration)' });
  rate = Option.String('--rate', { description: 'At most this many records per second (default: vault.replay_records_per_second)' });
  online = Option.Boolean('--online', false, { description: 'Ask the running engine to replay its own vault' });

  async execute(): Promise<number> {
    let config: Config;
    try {
      config = loadConfig(this.config);
    } catch (err) {
      if (err instanceof GopherShipError) return this.usageError(`${err.code}: ${err.message}`);
      throw err;
    }
    if (this.online) return this.requestOnline(config);
    const rate = this.rate === undefined ? config.vault.replay_records_per_second : Number(this.rate);
    if (!Number.isSafeInteger(rate) || rate < 1 || rate > MAX_RATE) {
      return this.usageError(`--rate takes a whole number of records per second from 1 to ${MAX_RATE}, not ${this.rate}`);
    }
    // A mistyped --vault must not read as an empty vault; an absent default vault is one.
    if (this.vault !== undefined && statSync(this.vault, { throwIfNoEntry: false })?.isDirectory() !== true) {
      return this.usageError(`--vault ${this.vault} is not a directory`);
    }
    setLogLevel(config.log_level);
    const progress = new ProgressPrinter(this.context.stdout);
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

  private requestOnline(config: Config): number {
    const pidPath = join(config.data_dir, 'gophership.pid');
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(pidPath, 'utf8'), 10);
      // A pid file left by a crash may name a pid since reused: SIGUSR2 would kill that process.
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('supervisor/cli.js')) {
        throw Object.assign(new Error('not a GopherShip supervisor'), { code: 'ESTALE' });
      }
      process.kill(pid, 'SIGUSR2');
    } catch (err) {
      this.context.stderr.write(`gs-ctl replay: no running engine to ask (${pidPath}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); without --online the replay runs here\n`);
      return 1;
    }
    this.context.stdout.write(`replay requested from the engine (pid ${pid}); it logs "replay progress" and "replay done"\n`);
    return 0;
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
        handle: ({ segment, records }) => pipeline.export(records, (r) => `vault ${basename(segment)} seq ${r.seq}`),
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

/**
 * A terminal gets one line rewritten in place; anything else (a pipe, a log collector) gets
 * JSON lines, few enough to keep.
 */
class ProgressPrinter {
  private readonly out: Writable;
  private readonly tty: boolean;
  private lastMs = -Infinity;
  /** A terminal line is being rewritten: anything else printed must start on a line of its own. */
  private lineOpen = false;

  constructor(out: Writable) {
    this.out = out;
    this.tty = (out as { isTTY?: boolean }).isTTY === true;
  }

  update(p: ReplayProgress): void {
    const now = performance.now();
    if (now - this.lastMs < (this.tty ? TTY_PROGRESS_EVERY_MS : JSON_PROGRESS_EVERY_MS)) return;
    this.lastMs = now;
    if (this.tty) {
      this.out.write(`\r\x1b[2K${p.records} records, ${mebibytes(p.bytes)}, ${Math.round(p.recordsPerSecond)} records/s, ETA ${p.etaSeconds === null ? '?' : `${Math.ceil(p.etaSeconds)}s`}`);
      this.lineOpen = true;
    } else {
      this.out.write(`${JSON.stringify({ records: p.records, bytes: p.bytes, rate: Math.round(p.recordsPerSecond), eta_s: p.etaSeconds === null ? null : Math.ceil(p.etaSeconds) })}\n`);
    }
  }

  /** The replay failed: the error goes below the last progress line, not over it. */
  abandon(): void {
    if (this.lineOpen) this.out.write('\n');
    this.lineOpen = false;
  }

  finish(s: ReplaySummary & { deadLettered: number }): void {
    const seconds = Math.round(s.elapsedMs) / 1000;
    if (this.tty) {
      const verdict = s.completed ? 'done' : 'stopped';
      this.out.write(
        `\r\x1b[2K${verdict}: ${s.records} records (${mebibytes(s.bytes)}) in ${seconds}s, ${s.deadLettered} dead-lettered, ${s.skipped} already replayed, ${s.segmentsDeleted} segments deleted, cursor at seq ${s.cursor}\n`,
      );
      this.lineOpen = false;
    } else {
      const summary = {
        done: s.completed,
        records: s.records,
        bytes: s.bytes,
        dead_lettered: s.deadLettered,
        skipped: s.skipped,
        segments_deleted: s.segmentsDeleted,
        cursor: s.cursor,
        elapsed_s: seconds,
        rate: Math.round(s.recordsPerSecond),
      };
      this.out.write(`${JSON.stringify(summary)}\n`);
    }
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

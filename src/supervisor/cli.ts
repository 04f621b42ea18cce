#!/usr/bin/env node
/**
 * `gophership`: the engine's entry point. `run` becomes the supervisor process.
 *
 * Exit codes, as gs-ctl's: 0 success (a stop after a signal or `gs-ctl drain` included),
 * 1 the configuration is invalid or the engine failed, 2 usage error (unknown option, an
 * option without its value; operator-cli.ts).
 */
import { Builtins, Command, Option } from 'clipanion';
import { loadConfig, type Config } from '../common/config';
import { describeConfigError } from '../common/config-location';
import { formatPlan } from './plan-table';
import { GopherShipError } from '../common/errors';
import { createLogger, setLogFormat, setLogLevel } from '../common/log';
import { OperatorCli } from '../common/operator-cli';
import { Supervisor } from './supervisor';
import { VERSION } from '../common/version';

const EXIT_CODES_HELP = `
      Exit codes: 0 done; 1 the configuration is invalid (\`GS_CONFIG_INVALID: FILE:LINE:COL:\`
      and the key on stderr) or the engine failed; 2 usage error (unknown option, an option
      without its value).
`;

abstract class ConfigCommand extends Command {
  config = Option.String('--config,-c', { description: 'YAML configuration file (default: the embedded defaults)' });

  /** The configuration, or undefined once the reason it is invalid has been printed. */
  protected load(): Config | undefined {
    try {
      return loadConfig(this.config);
    } catch (err) {
      if (!(err instanceof GopherShipError)) throw err;
      this.context.stderr.write(`gophership ${this.path.join(' ')}: ${describeConfigError(this.config, err)}\n`);
      return undefined;
    }
  }
}

class RunCommand extends ConfigCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    description: 'Start the engine: the supervisor, its ingest workers, the vault and the exporters.',
    details: `
      Without \`--config\` the embedded defaults apply, relative to the current directory
      (data_dir ./var):

      - OTLP/gRPC on 127.0.0.1:4317 and on the Unix socket ./var/otlp-grpc.sock
      - OTLP/HTTP (protobuf and JSON, POST /v1/logs) on 127.0.0.1:4318
      - plain lines (one log record per line, TCP) on 127.0.0.1:5170 and on the Unix socket ./var/lines.sock
      - metrics and health (GET /metrics, /healthz, /readyz) on 127.0.0.1:9464
      - the control plane for gs-ctl on the Unix socket ./var/control.sock

      Records received go through shared-memory rings (/dev/shm/gophership-UID-HASH) to the
      file exporter, which writes OTLP JSON lines to ./var/out/logs.jsonl; under memory
      pressure they go to the raw vault ./var/vault instead and are replayed from there.
      Records that cannot be exported go to ./var/dead-letter.jsonl. Logs of the engine
      itself go to stderr: readable text on a terminal, JSON lines otherwise (\`log_format\`).

      SIGTERM or SIGINT stops accepting, lets the exporters empty the rings, and exits 0.
      See docs/configuration.md for every key.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Run on the embedded defaults', '$0 run'],
      ['Run with a configuration file', '$0 run --config /etc/gophership/gophership.yaml'],
    ],
  });

  async execute(): Promise<number> {
    const config = this.load();
    if (config === undefined) return 1;
    setLogLevel(config.log_level);
    setLogFormat(config.log_format);
    const log = createLogger('supervisor');
    const supervisor = new Supervisor(config, log);
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info('signal received', { signal });
      void supervisor.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      log.info('signal received', { signal: 'SIGHUP' });
      supervisor.reloadTls();
    });
    try {
      await supervisor.start();
    } catch (err) {
      log.error('engine failed to start', { err });
      await supervisor.stop();
      return 1;
    }
    // A signal or `gs-ctl drain` starts the stop; either way the engine exits 0 once stopped.
    await supervisor.stopped;
    return 0;
  }
}

class CheckConfigCommand extends ConfigCommand {
  static override paths = [['check-config']];
  static override usage = Command.Usage({
    description: 'Validate a configuration file and print the resolved configuration as JSON.',
    details: `
      Reads the file as \`gophership run\` would and prints every key with the value the
      engine would use, defaults filled in and paths made absolute. Starts nothing.

      The memory plan is made here as \`run\` makes it, for the memory limit this command runs
      under (or memory.limit_bytes, or GOPHERSHIP_MEMORY_LIMIT): run it where the engine runs.
      \`--plan\` prints the plan as a table instead: each size and where it came from, and the
      worst case by part against the budget.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Check a file before deploying it', '$0 check-config --config gophership.yaml'],
      ['The memory plan for a 256 MiB container', 'GOPHERSHIP_MEMORY_LIMIT=256Mi $0 check-config --plan'],
    ],
  });

  plan = Option.Boolean('--plan', false, { description: 'Print the memory plan as a table instead of the configuration' });

  async execute(): Promise<number> {
    const config = this.load();
    if (config === undefined) return 1;
    this.context.stdout.write(this.plan ? formatPlan(config.memory.plan) : `${JSON.stringify(config, null, 2)}\n`);
    return 0;
  }
}

const cli = new OperatorCli({ binaryLabel: 'GopherShip', binaryName: 'gophership', binaryVersion: VERSION }, { '--config': '<file>' });
cli.register(RunCommand);
cli.register(CheckConfigCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);

cli.runMain(process.argv.slice(2));

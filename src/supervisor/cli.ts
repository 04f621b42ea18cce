#!/usr/bin/env node
/**
 * `gophership`: the engine's entry point. `run` becomes the supervisor process.
 */
import { Builtins, Cli, Command, Option, UsageError } from 'clipanion';
import { loadConfig } from '../common/config';
import { formatPlan } from './plan-table';
import { GopherShipError } from '../common/errors';
import { createLogger, setLogLevel } from '../common/log';
import { Supervisor } from './supervisor';
import { VERSION } from '../common/version';

class RunCommand extends Command {
  static override paths = [['run']];
  static override usage = Command.Usage({
    description: 'Start the engine: the supervisor, its ingest workers and exporters.',
    details: `
      Without \`--config\` the embedded defaults apply: OTLP gRPC on 127.0.0.1:4317 and on
      the Unix socket ./var/otlp-grpc.sock, data in ./var, and the file exporter writing
      OTLP JSON to ./var/out/logs.jsonl. SIGTERM or SIGINT stops accepting, lets the
      exporters empty the rings, and exits 0. See docs/configuration.md for every key.
    `,
    examples: [
      ['Run on the embedded defaults', '$0 run'],
      ['Run with a configuration file', '$0 run --config /etc/gophership/gophership.yaml'],
    ],
  });

  config = Option.String('--config,-c', { description: 'YAML configuration file' });

  async execute(): Promise<number> {
    const log = createLogger('supervisor');
    let config;
    try {
      config = loadConfig(this.config);
    } catch (err) {
      if (err instanceof GopherShipError) throw new UsageError(`${err.code}: ${err.message}`);
      throw err;
    }
    setLogLevel(config.log_level);
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

class CheckConfigCommand extends Command {
  static override paths = [['check-config']];
  static override usage = Command.Usage({
    description: 'Validate a configuration file and print the resolved configuration as JSON.',
    details: `
      The memory plan is made here as \`run\` makes it, for the memory limit this command runs
      under (or memory.limit_bytes, or GOPHERSHIP_MEMORY_LIMIT): run it where the engine runs.
      \`--plan\` prints the plan as a table instead: each size and where it came from, and the
      worst case by part against the budget.
    `,
    examples: [
      ['Check a file before deploying it', '$0 check-config --config gophership.yaml'],
      ['The memory plan for a 256 MiB container', 'GOPHERSHIP_MEMORY_LIMIT=256Mi $0 check-config --plan'],
    ],
  });

  config = Option.String('--config,-c', { description: 'YAML configuration file' });
  plan = Option.Boolean('--plan', false, { description: 'Print the memory plan as a table instead of the configuration' });

  async execute(): Promise<number> {
    try {
      const config = loadConfig(this.config);
      this.context.stdout.write(this.plan ? formatPlan(config.memory.plan) : `${JSON.stringify(config, null, 2)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof GopherShipError) throw new UsageError(`${err.code}: ${err.message}`);
      throw err;
    }
  }
}

const cli = new Cli({ binaryLabel: 'GopherShip', binaryName: 'gophership', binaryVersion: VERSION });
cli.register(RunCommand);
cli.register(CheckConfigCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);
cli.runExit(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`gophership: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

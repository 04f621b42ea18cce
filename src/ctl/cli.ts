#!/usr/bin/env node
/**
 * `gs-ctl`: the operator's control tool. `status`, `zone`, `drain` and `replay --online` talk
 * to a running engine through its control plane; `vault ls|verify` and the offline `replay`
 * work on the vault directory.
 *
 * Exit codes are shared by every command: 0 success, 1 the work failed or found damage,
 * 2 usage error, 3 no engine reached, 4 refused by the engine (control-client.ts). Clipanion
 * answers 1 to a command line it cannot parse, so parsing is done here, ahead of it, to keep
 * 1 meaning "the work failed".
 */
import { Builtins, Cli } from 'clipanion';
import { VERSION } from '../common/version';
import { DrainCommand } from './drain-command';
import { ReplayCommand } from './replay-command';
import { StatusCommand } from './status-command';
import { ZoneCommand } from './zone-command';
import { VaultLsCommand } from './vault-ls-command';
import { VaultVerifyCommand } from './vault-verify-command';
import { RingsCommand } from './rings-command';

const EXIT_USAGE = 2;

const cli = new Cli({ binaryLabel: 'GopherShip control', binaryName: 'gs-ctl', binaryVersion: VERSION });
cli.register(VaultLsCommand);
cli.register(VaultVerifyCommand);
cli.register(ReplayCommand);
cli.register(StatusCommand);
cli.register(ZoneCommand);
cli.register(DrainCommand);
cli.register(RingsCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);

async function main(args: string[]): Promise<number> {
  let command;
  try {
    command = cli.process(args);
  } catch (err) {
    process.stderr.write(cli.error(err));
    return EXIT_USAGE;
  }
  return cli.run(command);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gs-ctl: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);

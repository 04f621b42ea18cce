#!/usr/bin/env node
/**
 * `gs-ctl`: the operator's control tool. `status`, `zone`, `drain` and `replay --online` talk
 * to a running engine through its control plane; `vault ls|verify` and the offline `replay`
 * work on the vault directory.
 *
 * Exit codes are shared by every command: 0 success, 1 the work failed or found damage,
 * 2 usage error, 3 no engine reached, 4 refused by the engine (control-client.ts).
 */
import { Builtins } from 'clipanion';
import { OperatorCli } from '../common/operator-cli';
import { VERSION } from '../common/version';
import { DrainCommand } from './drain-command';
import { ReplayCommand } from './replay-command';
import { StatusCommand } from './status-command';
import { ZoneCommand } from './zone-command';
import { VaultLsCommand } from './vault-ls-command';
import { VaultVerifyCommand } from './vault-verify-command';
import { VaultCommand } from './vault-command';
import { RingsCommand } from './rings-command';


const cli = new OperatorCli(
  { binaryLabel: 'GopherShip control', binaryName: 'gs-ctl', binaryVersion: VERSION },
  {
    '--addr': '<unix:path|host:port>',
    '--socket': '<path>',
    '--config': '<file>',
    '--cert': '<file>',
    '--key': '<file>',
    '--ca': '<file>',
    '--timeout': '<seconds>',
    '--vault': '<dir>',
    '--rate': '<records/s>',
  },
);
cli.register(VaultCommand);
cli.register(VaultLsCommand);
cli.register(VaultVerifyCommand);
cli.register(ReplayCommand);
cli.register(StatusCommand);
cli.register(ZoneCommand);
cli.register(DrainCommand);
cli.register(RingsCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);

cli.runMain(process.argv.slice(2));

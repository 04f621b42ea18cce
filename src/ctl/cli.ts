#!/usr/bin/env node
/**
 * `gs-ctl`: the operator's control tool. The control plane it talks to arrives with the
 * control-plane issue; until then it offers help and version only.
 */
import { Builtins, Cli } from 'clipanion';
import { VERSION } from '../common/version';

const cli = new Cli({ binaryLabel: 'GopherShip control', binaryName: 'gs-ctl', binaryVersion: VERSION });
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);
cli.runExit(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`gs-ctl: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

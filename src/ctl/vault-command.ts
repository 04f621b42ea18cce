/**
 * `gs-ctl vault`: the group of `vault ls` and `vault verify`. Clipanion knows only whole
 * paths, so without this `gs-ctl vault --help` would be "Command not found".
 */
import { Command } from 'clipanion';
import { CtlCommand } from './ctl-command';

export class VaultCommand extends CtlCommand {
  static override paths = [['vault']];
  static override usage = Command.Usage({
    description: 'Read the raw vault on disk: `vault ls` lists its segments, `vault verify` checks every record.',
    details: `
      Both read only, so they are safe beside a running engine. Without DIR they read the
      vault of the engine's configuration: vault.dir of \`--config FILE\`, or of the
      embedded defaults (\`./var/vault\`, as \`gophership run\` without \`--config\` uses).
      \`gs-ctl vault ls --help\` and \`gs-ctl vault verify --help\` say more.

      Exit codes: 0 done; 1 damage found or a segment unreadable; 2 usage error.
    `,
    examples: [
      ['List the vault of a configuration file', '$0 vault ls --config /etc/gophership/gophership.yaml'],
      ['Check the vault of the embedded defaults', '$0 vault verify'],
    ],
  });

  async execute(): Promise<number> {
    return this.usageError('vault needs a subcommand: ls or verify');
  }
}

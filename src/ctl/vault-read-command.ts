/**
 * What `vault ls` and `vault verify` share: the vault they read is DIR, else vault.dir of
 * `--config FILE`, else that of the embedded defaults (the vault `gophership run` without
 * `--config` writes, ./var/vault under the current directory).
 */
import { Option } from 'clipanion';
import { statSync } from 'node:fs';
import { CtlCommand, configOrigin } from './ctl-command';

export abstract class VaultReadCommand extends CtlCommand {
  configPath = Option.String('--config,-c', { description: 'The engine\'s YAML configuration: without DIR, read its vault.dir' });
  dir = Option.String({ name: 'DIR', required: false });

  /** The vault directory, or the exit code of the usage error printed when there is none. */
  protected vaultDir(): string | { usage: number } {
    let dir = this.dir;
    let origin = '';
    if (dir === undefined) {
      const config = this.engineConfig(this.configPath);
      if (typeof config === 'string') return { usage: this.usageError(config) };
      dir = config.vault.dir;
      origin = ` (vault.dir ${configOrigin(this.configPath)}; pass DIR or --config FILE)`;
    } else if (this.configPath !== undefined) {
      return { usage: this.usageError('give DIR or --config, not both') };
    }
    if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) return { usage: this.usageError(`${dir} is not a directory${origin}`) };
    return dir;
  }
}

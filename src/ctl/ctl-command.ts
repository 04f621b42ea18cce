/**
 * What every gs-ctl command shares: operator mistakes print clipanion's usage error (the
 * message and the command's usage, no stack) and exit 2, as documented in each --help; and
 * reading the engine's configuration the way `gophership run` does (`--config FILE`, else the
 * embedded defaults), so that commands default to the engine's own data_dir.
 */
import { Command, UsageError } from 'clipanion';
import { loadConfig, type Config } from '../common/config';
import { GopherShipError } from '../common/errors';

export abstract class CtlCommand extends Command {
  protected usageError(message: string): number {
    this.context.stderr.write(this.cli.error(new UsageError(message), { command: this }));
    return 2;
  }

  /** The configuration of `path` or the embedded defaults, or why it cannot be read (a usage error's message). */
  protected engineConfig(path: string | undefined): Config | string {
    try {
      return loadConfig(path);
    } catch (err) {
      if (err instanceof GopherShipError) return `${err.code}: ${err.message}`;
      throw err;
    }
  }
}

/** Says where a default came from, for messages: "of /etc/gs.yaml" or "of the embedded defaults". */
export function configOrigin(path: string | undefined): string {
  return path === undefined ? 'of the embedded defaults, no --config' : `of ${path}`;
}

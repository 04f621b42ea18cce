/**
 * What every gs-ctl command shares: operator mistakes print clipanion's usage error (the
 * message and the command's usage, no stack) and exit 2, as documented in each --help.
 */
import { Command, UsageError } from 'clipanion';

export abstract class CtlCommand extends Command {
  protected usageError(message: string): number {
    this.context.stderr.write(this.cli.error(new UsageError(message), { command: this }));
    return 2;
  }
}

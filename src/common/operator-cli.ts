/**
 * What `gophership` and `gs-ctl` share in front of clipanion: colours only when the output is
 * a terminal and NO_COLOR is not set (clipanion asks the tty prototype, so it colours pipes
 * and files too), and options that take a value shown with what the value is
 * (`--timeout <seconds>`) instead of clipanion's `--timeout #0`; and exit 2 for a command line
 * that does not parse, where clipanion answers 1, so that 1 keeps meaning "invalid or failed".
 */
import { Cli, type CliOptions, type Command } from 'clipanion';

/** True when escape codes are wanted on `stream`: a terminal, and no NO_COLOR (no-color.org: any non-empty value). */
export function wantsColour(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
}

const EXIT_USAGE = 2;

export class OperatorCli extends Cli {
  /**
   * @param valueNames what each option that takes a value expects, by option name, e.g.
   *   `{ '--timeout': '<seconds>' }`; an option not named keeps `<value>`.
   */
  constructor(
    options: Pick<CliOptions, 'binaryLabel' | 'binaryName' | 'binaryVersion'>,
    private readonly valueNames: Record<string, string>,
  ) {
    super({ ...options, enableColors: wantsColour(process.stdout) && wantsColour(process.stderr) });
  }

  /** Runs the command of `args` and sets the process's exit code from it. */
  runMain(args: string[]): void {
    let command: Command;
    try {
      command = this.process(args);
    } catch (err) {
      process.stderr.write(this.error(err));
      process.exitCode = EXIT_USAGE;
      return;
    }
    this.run(command).then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`${this.binaryName}: ${(err as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  }

  protected override getUsageByIndex(n: number, opts?: { detailed?: boolean; inlineOptions?: boolean }): { usage: string; options: { definition: string; description: string; required: boolean }[] } {
    const usage = super.getUsageByIndex(n, opts);
    return { usage: this.nameValues(usage.usage), options: usage.options.map((option) => ({ ...option, definition: this.nameValues(option.definition) })) };
  }

  /** Clipanion's parse errors carry a usage line of their own, made without getUsageByIndex. */
  override error(error: unknown, opts?: { colored?: boolean; command?: Command | null }): string {
    return this.nameValues(super.error(error, opts));
  }

  /** `--timeout #0` becomes `--timeout <seconds>`, whatever text it is in. */
  private nameValues(text: string): string {
    return text.replace(/((?:-{1,2}[\w-]+,?)+) #0\b/g, (_whole, names: string) => `${names} ${names.split(',').map((one) => this.valueNames[one]).find((v) => v !== undefined) ?? '<value>'}`);
  }
}

import test from 'ava';
import { gsCtl } from './helpers/gs-ctl';

const COMMANDS = [['status'], ['zone'], ['drain'], ['replay'], ['vault', 'ls'], ['vault', 'verify'], ['rings']];

for (const command of COMMANDS) {
  test(`gs-ctl ${command.join(' ')} --help describes the command with examples and exit codes`, async (t) => {
    const run = await gsCtl(...command, '--help');
    t.is(run.code, 0, run.stderr);
    t.regex(run.stdout, /Examples/);
    t.regex(run.stdout, /Exit codes: 0 /);
  });
}

import test from 'ava';
import { gsCtl } from './helpers/gs-ctl';

// Every run here is piped, as in a script: no escape codes, whatever the terminal type.
const ESCAPE = /\x1b\[/;

const COMMANDS = [['status'], ['zone'], ['drain'], ['replay'], ['vault', 'ls'], ['vault', 'verify'], ['rings']];

for (const command of COMMANDS) {
  test(`gs-ctl ${command.join(' ')} --help describes the command with examples and exit codes`, async (t) => {
    const run = await gsCtl(...command, '--help');
    t.is(run.code, 0, run.stderr);
    t.regex(run.stdout, /Examples/);
    t.regex(run.stdout, /Exit codes: 0 /);
    t.notRegex(run.stdout, ESCAPE);
    t.notRegex(run.stdout, /#0/, 'an option that takes a value says what it takes');
  });
}

test('gs-ctl vault --help describes the group and its subcommands', async (t) => {
  const run = await gsCtl('vault', '--help');
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /vault ls/);
  t.regex(run.stdout, /vault verify/);
  const bare = await gsCtl('vault');
  t.is(bare.code, 2);
  t.regex(bare.stderr, /vault needs a subcommand: ls or verify/);
});

test('options that take a value are shown with what the value is', async (t) => {
  const run = await gsCtl('status', '--help');
  t.regex(run.stdout, /--timeout <seconds>/);
  t.regex(run.stdout, /--addr <unix:path\|host:port>/);
  t.regex(run.stdout, /--config,-c <file>/);
});

test('usage errors carry no colour codes when piped', async (t) => {
  const run = await gsCtl('status', '--bogus');
  t.is(run.code, 2);
  t.regex(run.stderr, /Unsupported option name/);
  t.regex(run.stderr, /\[--timeout <seconds>\]/);
  t.notRegex(run.stderr + run.stdout, ESCAPE);
});

import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyscallError } from '../src/common/errors';
import { mkfifo } from '../src/common/native';

function fifoPath(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gs-fifo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'doorbell');
}

test('mkfifo makes a named pipe another process can ring', async (t) => {
  const path = fifoPath(t);
  mkfifo(path);
  const stat = statSync(path);
  t.true(stat.isFIFO());
  t.is(stat.mode & 0o777, 0o600);

  const bell = createReadStream(path);
  const ringer = spawn(process.execPath, ['-e', 'require("node:fs").writeFileSync(process.argv[1], "ding")', path]);
  // Listened for now: the ringer may be gone before the bell's data is handled.
  const exited = once(ringer, 'exit');
  const [chunk] = (await once(bell, 'data')) as [Buffer];
  t.is(chunk.toString(), 'ding');
  const [code] = await exited;
  t.is(code, 0);
});

test('mkfifo over an existing path fails with EEXIST', (t) => {
  const path = fifoPath(t);
  mkfifo(path);
  const error = t.throws(() => mkfifo(path), { instanceOf: SyscallError });
  t.is(error?.errno, 'EEXIST');
  t.is(error?.syscall, 'mkfifo');
  t.is(error?.message, `mkfifo(${path}): File exists`);
});

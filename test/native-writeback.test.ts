import test from 'ava';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyscallError } from '../src/common/errors';
import { fadviseDontNeed, listenReusePort, syncFileRange } from '../src/common/native';

test('a buffered write survives sync_file_range and dropping it from the page cache', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gs-writeback-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'segment');
  const data = Buffer.alloc(3 * 4096, 'gopher');
  const fd = openSync(file, 'w');
  t.teardown(() => closeSync(fd));

  t.is(writeSync(fd, data, 0, data.length, 0), data.length);
  syncFileRange(fd, 0, 0);
  fadviseDontNeed(fd, 0, 0);
  t.deepEqual(readFileSync(file), data);
});

test('sync_file_range on a socket fails with ESPIPE', (t) => {
  const fd = listenReusePort('127.0.0.1', 0);
  t.teardown(() => closeSync(fd));
  const error = t.throws(() => syncFileRange(fd, 0, 4096), { instanceOf: SyscallError });
  t.is(error?.errno, 'ESPIPE');
  t.is(error?.syscall, 'sync_file_range');
  t.is(error?.message, `sync_file_range(${fd}): Illegal seek`);
});

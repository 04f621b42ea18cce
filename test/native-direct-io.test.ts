import test from 'ava';
import { closeSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, SyscallError } from '../src/common/errors';
import { allocAligned, fdatasync, openDirect, pread, pwrite } from '../src/common/native';

// Under the repository rather than os.tmpdir(), which may be a tmpfs; the repository sits on
// a disk filesystem that takes O_DIRECT.
const ROOT = join(__dirname, '../../var/test-tmp');

function scratchDir(t: { teardown(fn: () => void): void }): string {
  mkdirSync(ROOT, { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'native-direct-io-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function pattern(bytes: number, salt: number): Uint8Array {
  const buf = new Uint8Array(allocAligned(bytes));
  for (let i = 0; i < bytes; i++) buf[i] = (i * 31 + salt) & 0xff;
  return buf;
}

test('aligned blocks written with O_DIRECT and fdatasync read back identical', (t) => {
  const file = join(scratchDir(t), 'segment');
  const first = pattern(4096, 1);
  const second = pattern(8192, 2);

  const writer = openDirect(file, { write: true, create: true });
  t.is(pwrite(writer, first, 0), 4096);
  t.is(pwrite(writer, second, 4096), 8192);
  fdatasync(writer);
  closeSync(writer);

  const reader = openDirect(file);
  t.teardown(() => closeSync(reader));
  const back = new Uint8Array(allocAligned(12288));
  t.is(pread(reader, back, 0), 12288);
  t.deepEqual(back.subarray(0, 4096), first);
  t.deepEqual(back.subarray(4096), second);
  t.deepEqual(new Uint8Array(readFileSync(file)), back, 'a buffered read of the file agrees');
});

test('a read past the end of the file returns only what is there', (t) => {
  const file = join(scratchDir(t), 'short');
  const fd = openDirect(file, { write: true, create: true });
  t.teardown(() => closeSync(fd));
  pwrite(fd, pattern(512, 3), 0);
  t.is(pread(fd, new Uint8Array(allocAligned(4096)), 0), 512);
});

test('an offset or length that is not a multiple of 512 is refused before the syscall', (t) => {
  const fd = openDirect(join(scratchDir(t), 'misaligned'), { write: true, create: true });
  t.teardown(() => closeSync(fd));
  const buf = new Uint8Array(allocAligned(4096));

  t.throws(() => pwrite(fd, buf, 100), {
    instanceOf: InvalidArgumentError,
    message: 'Expected a multiple of 512 for position but received number 100',
  });
  t.throws(() => pread(fd, buf.subarray(0, 1000), 0), {
    instanceOf: InvalidArgumentError,
    message: 'Expected a multiple of 512 for buf.byteLength but received number 1000',
  });
});

test('a buffer at a misaligned address is refused by the native side with EINVAL', (t) => {
  const fd = openDirect(join(scratchDir(t), 'misaligned-address'), { write: true, create: true });
  t.teardown(() => closeSync(fd));
  const shifted = new Uint8Array(allocAligned(8192), 8, 4096);

  const error = t.throws(() => pwrite(fd, shifted, 0), { instanceOf: SyscallError });
  t.is(error?.errno, 'EINVAL');
  t.is(error?.syscall, 'pwrite');
  t.regex(error?.message ?? '', /O_DIRECT buffer address is not 512-byte aligned/);
});

// tmpfs accepts O_DIRECT since Linux 6.6, so procfs stands in for "a filesystem that refuses
// it": it never supports O_DIRECT and always exists.
test('a filesystem that refuses O_DIRECT gives EINVAL with a message that says so', (t) => {
  const error = t.throws(() => openDirect('/proc/self/status'), { instanceOf: SyscallError });
  t.is(error?.code, 'GS_SYSCALL');
  t.is(error?.errno, 'EINVAL');
  t.is(error?.syscall, 'open');
  t.is(error?.message, 'open(/proc/self/status): Invalid argument: O_DIRECT is not supported by the filesystem');
});

test('a missing file without create fails with ENOENT and no O_DIRECT hint', (t) => {
  const file = join(scratchDir(t), 'absent');
  const error = t.throws(() => openDirect(file), { instanceOf: SyscallError });
  t.is(error?.errno, 'ENOENT');
  t.is(error?.message, `open(${file}): No such file or directory`);
});

test('allocAligned returns zeroed memory and refuses an alignment that is not a power of two', (t) => {
  t.true(new Uint8Array(allocAligned(65536)).every((byte) => byte === 0));
  t.throws(() => allocAligned(4096, 3000), {
    instanceOf: InvalidArgumentError,
    message: 'Expected a power of two for alignment but received number 3000',
  });
});

import test from 'ava';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, SyscallError } from '../src/common/errors';
import { mapShared } from '../src/common/native';

const PEER = join(__dirname, 'fixtures', 'native-mmap-peer.js');

function shmPath(t: { teardown(fn: () => void): void }): string {
  const path = `/dev/shm/gophership-native-mmap-${process.pid}-${randomUUID()}`;
  t.teardown(() => rmSync(path, { force: true }));
  return path;
}

test('two processes that map the same file see each other’s Atomics stores', async (t) => {
  const path = shmPath(t);
  const slots = new Int32Array(mapShared(path, 4096));
  Atomics.store(slots, 0, 0x5eed);

  const peer = fork(PEER, [path, '4096']);
  const reply = await new Promise<{ seen: number }>((resolve, reject) => {
    peer.once('message', resolve);
    peer.once('exit', (code) => reject(new Error(`mmap fixture exited with code ${code} before replying`)));
  });

  t.is(reply.seen, 0x5eed, 'the child loaded what the parent stored');
  t.is(Atomics.load(slots, 1), 0x0c0ffee, 'the parent loads what the child stored');
});

test('a new mapping of the same file shows what the previous one wrote', (t) => {
  const path = shmPath(t);
  new Uint8Array(mapShared(path, 8192)).set([1, 2, 3], 5000);
  t.deepEqual([...new Uint8Array(mapShared(path, 8192)).subarray(5000, 5003)], [1, 2, 3]);
});

test('a file is grown to the mapped size but never shrunk by a smaller mapping', (t) => {
  const path = shmPath(t);
  new Uint8Array(mapShared(path, 16384))[12000] = 42;

  t.is(mapShared(path, 4096).byteLength, 4096);
  t.is(statSync(path).size, 16384, 'the smaller mapping left the file alone');

  const grown = new Uint8Array(mapShared(path, 32768));
  t.is(statSync(path).size, 32768);
  t.is(grown[12000], 42, 'growing kept the data');
  t.is(statSync(path).mode & 0o777, 0o600);
});

test('a missing directory fails with ENOENT from open', (t) => {
  const path = `/dev/shm/gophership-native-mmap-missing-${randomUUID()}/ring`;
  const error = t.throws(() => mapShared(path, 4096), { instanceOf: SyscallError });
  t.is(error?.errno, 'ENOENT');
  t.is(error?.syscall, 'open');
  t.is(error?.message, `open(${path}): No such file or directory`);
});

test('a size of zero is refused', (t) => {
  t.throws(() => mapShared('/dev/shm/unused', 0), {
    instanceOf: InvalidArgumentError,
    message: /^Expected an integer from 1 to \d+ for bytes but received number 0$/,
  });
});

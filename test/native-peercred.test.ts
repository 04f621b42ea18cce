import test from 'ava';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyscallError } from '../src/common/errors';
import { peerCred } from '../src/common/native';

const CLIENT = join(__dirname, 'fixtures', 'native-peercred-client.js');

// Node keeps a connected socket's descriptor on its private libuv handle, `_handle.fd`
// (a real fd on Unix); there is no public accessor for it.
function socketFd(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

test('peerCred on an accepted Unix socket names the connecting process and its user', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gs-peercred-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'peer.sock');
  const server = createServer().listen(socketPath);
  await once(server, 'listening');
  t.teardown(() => server.close());

  const accepted = once(server, 'connection');
  const client = fork(CLIENT, [socketPath]);
  t.teardown(() => client.connected && client.disconnect());
  const [socket] = (await accepted) as [Socket];
  t.teardown(() => socket.destroy());

  t.deepEqual(peerCred(socketFd(socket)), { pid: client.pid, uid: process.getuid?.(), gid: process.getgid?.() });
});

test('peerCred on something that is not a socket fails with ENOTSOCK', (t) => {
  const fd = openSync(__filename, 'r');
  t.teardown(() => closeSync(fd));
  const error = t.throws(() => peerCred(fd), { instanceOf: SyscallError });
  t.is(error?.errno, 'ENOTSOCK');
  t.is(error?.syscall, 'getsockopt');
  t.is(error?.message, `getsockopt(${fd}, SO_PEERCRED): Socket operation on non-socket`);
});

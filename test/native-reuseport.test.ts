import test from 'ava';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError, SyscallError } from '../src/common/errors';
import { listenReusePort, localPort } from '../src/common/native';

const SERVER = join(__dirname, 'fixtures', 'native-reuseport-server.js');
const CLIENTS = 64;

interface Worker {
  child: ChildProcess;
  port: number;
  accepted: number;
}

async function startWorker(port: number, onAccept: () => void): Promise<Worker> {
  const child = fork(SERVER, [String(port)]);
  const worker = { child, port: 0, accepted: 0 };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`reuseport fixture exited early with code ${code}`)));
    child.on('message', (msg: { port?: number; accepted?: boolean }) => {
      if (msg.accepted) {
        worker.accepted++;
        onAccept();
      } else if (msg.port !== undefined) {
        worker.port = msg.port;
        resolve();
      }
    });
  });
  return worker;
}

async function connectAndWaitForClose(port: number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.resume();
  await once(socket, 'close');
}

test('two processes each accept part of the connections on one shared port', async (t) => {
  let total = 0;
  let allAccepted!: () => void;
  const done = new Promise<void>((resolve) => (allAccepted = resolve));
  const onAccept = (): void => {
    if (++total === CLIENTS) allAccepted();
  };

  const first = await startWorker(0, onAccept);
  t.teardown(() => first.child.disconnect());
  const second = await startWorker(first.port, onAccept);
  t.teardown(() => second.child.disconnect());
  t.is(second.port, first.port);

  await Promise.all(Array.from({ length: CLIENTS }, () => connectAndWaitForClose(first.port)));
  await done;

  t.is(first.accepted + second.accepted, CLIENTS);
  t.true(first.accepted > 0, `first worker accepted ${first.accepted}`);
  t.true(second.accepted > 0, `second worker accepted ${second.accepted}`);
});

test('port 0 binds an ephemeral port that localPort reports', (t) => {
  const fd = listenReusePort('127.0.0.1', 0);
  t.teardown(() => closeSync(fd));
  t.true(localPort(fd) > 0);
});

test('a port held by a socket without SO_REUSEPORT fails with EADDRINUSE from bind', async (t) => {
  const plain = createServer().listen(0, '127.0.0.1');
  await once(plain, 'listening');
  t.teardown(() => plain.close());
  const { port } = plain.address() as AddressInfo;

  const error = t.throws(() => listenReusePort('127.0.0.1', port), { instanceOf: SyscallError });
  t.is(error?.code, 'GS_SYSCALL');
  t.is(error?.errno, 'EADDRINUSE');
  t.is(error?.syscall, 'bind');
  t.is(error?.message, `bind(127.0.0.1:${port}): Address already in use`);
});

test('a host name is refused before any syscall: only numeric addresses are accepted', (t) => {
  const error = t.throws(() => listenReusePort('localhost', 0), { instanceOf: InvalidArgumentError });
  t.is(error?.code, 'GS_INVALID_ARGUMENT');
  t.is(
    error?.message,
    'Expected a numeric IPv4 or IPv6 address without a zone (hostnames are not resolved) for host but received "localhost"',
  );
});

test('a port outside 0..65535 is refused', (t) => {
  t.throws(() => listenReusePort('127.0.0.1', 65536), {
    instanceOf: InvalidArgumentError,
    message: 'Expected an integer from 0 to 65535 for port but received number 65536',
  });
});

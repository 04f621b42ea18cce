/**
 * Listening and closing: what a worker relies on when it starts beside other workers and
 * when the supervisor tells it to stop.
 */
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ListenError } from '../src/common/errors';
import { createOtlpGrpcServer } from '../src/ingest/otlp-grpc-server';
import { CollectingSink, frame, grpcExport, rawCall, roundTrip, startServer } from './fixtures/otlp-grpc-harness';

function newServer(sink = new CollectingSink()) {
  return createOtlpGrpcServer({ sink, maxMessageBytes: 1 << 20, maxConcurrentStreams: 10, windowBytes: 1 << 20 });
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

test('close sends GOAWAY, refuses new connections and lets a call in flight finish', async (t) => {
  const { server, sink, port } = await startServer();
  const call = rawCall(port);
  const message = frame(Buffer.from('in flight'));
  call.stream.write(message.subarray(0, 7));
  await roundTrip(call.session);

  const goaway = once(call.session, 'goaway');
  const closing = server.close(30_000);
  await goaway;
  t.is(await connectError(port), 'ECONNREFUSED');

  call.stream.end(message.subarray(7));
  const outcome = await call.outcome;
  t.is(outcome.trailers?.['grpc-status'], '0');
  await closing;
  t.deepEqual(sink.records.map((r) => r.payload.toString()), ['in flight']);
});

test('close cuts what is still in flight once the grace period is over', async (t) => {
  const { server, sink, port } = await startServer();
  const call = rawCall(port);
  call.stream.write(frame(Buffer.from('never finished')).subarray(0, 7));
  await roundTrip(call.session);
  await server.close(50);
  const outcome = await call.outcome;
  t.is(outcome.headers['grpc-status'], undefined, 'no answer: the connection was cut');
  t.is(sink.offers, 0);
  t.is(server.counters.cancelled, 1);
});

test('close does not wait out the grace period for idle connections', async (t) => {
  const { server, target } = await startServer();
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  t.is((await grpcExport(client, Buffer.from('x'))).error, null, 'the client holds an open, idle connection');
  const started = performance.now();
  await server.close(60_000);
  t.true(performance.now() - started < 10_000);
});

test('close is idempotent and works on a server that never listened', async (t) => {
  const server = newServer();
  const first = server.close(0);
  t.is(server.close(0), first);
  await first;
  t.pass();
});

test('a port in use is a ListenError', async (t) => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.teardown(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  const error = await t.throwsAsync(newServer().listen({ host: '127.0.0.1', port }), { instanceOf: ListenError });
  t.is(error?.code, 'GS_LISTEN_FAILED');
  t.regex(error?.message ?? '', /EADDRINUSE/);
});

test('a Unix socket path is never taken from a file or from a live server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otlp-grpc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'precious');
  await t.throwsAsync(newServer().listen({ path: file }), { instanceOf: ListenError, message: /exists and is not a socket/ });
  t.is(readFileSync(file, 'utf8'), 'precious');

  const path = join(dir, 'live.sock');
  const sink = new CollectingSink();
  const live = newServer(sink);
  t.teardown(() => live.close(0));
  await live.listen({ path });
  await t.throwsAsync(newServer().listen({ path }), { instanceOf: ListenError, message: /another process is listening/ });
  t.is((await grpcExport(`unix://${path}`, Buffer.from('still mine'))).error, null);
  t.deepEqual(sink.records.map((r) => r.payload.toString()), ['still mine']);
});

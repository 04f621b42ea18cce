/**
 * Every refusal the receiver makes, as a client sees it, and that no bad input (oversized,
 * malformed, hostile or abandoned) stops it from serving the next client.
 */
import { InflightBudget } from '../src/ingest/inflight-budget';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:http2';
import { connect } from 'node:net';
import { RetryInfo, Status } from '../src/common/otlp-proto';
import { frame, grpcExport, rawCall, rawExport, rawSession, roundTrip, startServer, type Harness } from './fixtures/otlp-grpc-harness';

/** The proof that a server survived: a fresh client still gets a normal export through. */
async function stillServes(t: ExecutionContext, { target, sink }: Harness): Promise<void> {
  const before = sink.records.length;
  const { error } = await grpcExport(target, Buffer.from('still here'));
  t.is(error, null, 'the server still serves a well-formed call');
  t.is(sink.records.length, before + 1);
}

test('an oversized message is refused with RESOURCE_EXHAUSTED naming the limit, and nothing is offered', async (t) => {
  const h = await startServer({ maxMessageBytes: 1024 });
  t.teardown(() => h.server.close(0));
  const { error } = await grpcExport(h.target, randomBytes(200_000));
  t.is(error?.code, grpc.status.RESOURCE_EXHAUSTED);
  t.is(error?.details, 'message of 200000 bytes exceeds the maximum of 1024 (ingest.max_message_bytes)');
  t.is(h.sink.offers, 0);
  t.is(h.server.counters.refused.tooLarge, 1);
  await stillServes(t, h);
});

test('an oversized message is refused on its length prefix alone, before its bytes arrive', async (t) => {
  const h = await startServer({ maxMessageBytes: 1024 });
  t.teardown(() => h.server.close(0));
  const call = rawCall(h.port);
  const prefix = Buffer.from([0, 0x40, 0, 0, 0]); // claims 1 GiB, of which nothing follows
  call.stream.write(prefix);
  const outcome = await call.outcome;
  call.session.close();
  t.is(outcome.headers['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
  t.is(outcome.rstCode, constants.NGHTTP2_NO_ERROR, 'the upload is stopped with RST_STREAM(NO_ERROR), as the spec asks after early trailers');
});

test('an unknown method is UNIMPLEMENTED', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const { error } = await grpcExport(h.target, Buffer.from('x'), { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export' });
  t.is(error?.code, grpc.status.UNIMPLEMENTED);
  t.regex(error?.details ?? '', /TraceService\/Export" is not implemented/);
  t.is(h.sink.offers, 0);
  await stillServes(t, h);
});

test('the status message is percent-encoded on the wire and grpc-js restores it', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const path = '/50%off.Shop/Buy';
  const { error } = await grpcExport(h.target, Buffer.from('x'), { path });
  t.is(error?.details, `method "${path}" is not implemented; this server implements only /opentelemetry.proto.collector.logs.v1.LogsService/Export`);
  const raw = await rawExport(h.port, frame(Buffer.from('x')), { ':path': path });
  t.regex(raw.headers['grpc-message'] as string, /^method "\/50%25off\.Shop\/Buy" is not implemented/);
});

test('an unsupported grpc-encoding is UNIMPLEMENTED and the response lists what is accepted', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const viaGrpcJs = await grpcExport(h.target, Buffer.from('x'.repeat(100)), { channel: { 'grpc.default_compression_algorithm': 1 } });
  t.is(viaGrpcJs.error?.code, grpc.status.UNIMPLEMENTED, 'grpc-js with deflate');
  const raw = await rawExport(h.port, frame(Buffer.from('x'), 1), { 'grpc-encoding': 'snappy' });
  t.is(raw.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  t.is(raw.headers['grpc-accept-encoding'], 'identity,gzip');
  t.is(raw.headers['grpc-message'], 'grpc-encoding "snappy" is not supported (accepted: identity,gzip)');
  t.is(h.sink.offers, 0);
  t.is(h.server.counters.refused.unimplemented, 2);
});

test('a request that is not gRPC gets an HTTP status, not a 200', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const get = await rawExport(h.port, Buffer.alloc(0), { ':method': 'GET' });
  t.is(Number(get.headers[':status']), 405);
  t.is(get.headers.allow, 'POST');
  for (const contentType of ['application/json', 'application/grpc-web', 'application/grpc+json']) {
    const outcome = await rawExport(h.port, frame(Buffer.from('{}')), { 'content-type': contentType });
    t.is(Number(outcome.headers[':status']), 415, contentType);
  }
  t.is(h.server.counters.refused.notGrpc, 4);
  t.is(h.sink.offers, 0);
});

const malformed: Array<[string, Buffer, Record<string, string>, string]> = [
  ['a truncated message', frame(Buffer.alloc(100)).subarray(0, 55), {}, 'malformed gRPC frame: stream ended after 50 of 100 message bytes'],
  ['a truncated prefix', Buffer.from([0, 0, 0]), {}, 'malformed gRPC frame: stream ended after 3 of the 5 prefix bytes'],
  ['no message at all', Buffer.alloc(0), {}, 'malformed gRPC frame: no message in a unary call'],
  ['two messages', Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]), {}, 'malformed gRPC frame: more than one message in a unary call'],
  ['the compressed flag without grpc-encoding', frame(Buffer.from('x'), 1), {}, 'malformed gRPC frame: compressed flag is set but grpc-encoding is identity (or absent)'],
  ['the compressed flag with grpc-encoding identity', frame(Buffer.from('x'), 1), { 'grpc-encoding': 'identity' }, 'malformed gRPC frame: compressed flag is set but grpc-encoding is identity (or absent)'],
  ['a compressed flag of 2', frame(Buffer.from('x'), 2), { 'grpc-encoding': 'gzip' }, 'malformed gRPC frame: compressed flag is 2, expected 0 or 1'],
  ['an unparseable grpc-timeout', frame(Buffer.from('x')), { 'grpc-timeout': '10 seconds' }, 'invalid grpc-timeout "10 seconds"'],
];
for (const [what, body, headers, message] of malformed) {
  test(`${what} is INTERNAL with a clear message`, async (t) => {
    const h = await startServer();
    t.teardown(() => h.server.close(0));
    const outcome = await rawExport(h.port, body, headers);
    t.is(Number(outcome.headers[':status']), 200);
    t.is(outcome.headers['content-type'], 'application/grpc');
    t.is(outcome.headers['grpc-status'], String(grpc.status.INTERNAL));
    t.is(outcome.headers['grpc-message'], message);
    t.is(h.sink.offers, 0);
    t.is(h.server.counters.refused.malformed, 1);
    await stillServes(t, h);
  });
}

test('garbage instead of an HTTP/2 preface closes that connection only', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const socket = connect(h.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume();
  socket.write(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), randomBytes(4096)]));
  await once(socket, 'close');
  await stillServes(t, h);
});

test('a full ring is UNAVAILABLE with RetryInfo in grpc-status-details-bin, and the call is not stored', async (t) => {
  const h = await startServer({ retryDelayMs: 250 });
  t.teardown(() => h.server.close(0));
  h.sink.refuse = true;
  const { error } = await grpcExport(h.target, Buffer.from('refused'));
  t.is(error?.code, grpc.status.UNAVAILABLE);
  t.regex(error?.details ?? '', /ring full/);
  const [detailsBin] = error?.metadata.get('grpc-status-details-bin') ?? [];
  t.true(Buffer.isBuffer(detailsBin), 'grpc-js decoded the unpadded base64 into bytes');
  // protobufjs serves google.protobuf.Any from its bundled JSON, so the field keeps its snake_case name.
  const status = Status.decode(detailsBin as Buffer) as unknown as { code: number; details: Array<{ type_url: string; value: Uint8Array }> };
  t.is(status.code, grpc.status.UNAVAILABLE);
  t.is(status.details[0]?.type_url, 'type.googleapis.com/google.rpc.RetryInfo');
  const retry = RetryInfo.toObject(RetryInfo.decode(status.details[0].value), { longs: Number, defaults: true }) as { retryDelay: { seconds?: number; nanos?: number } };
  t.deepEqual(retry.retryDelay, { seconds: 0, nanos: 250_000_000 });
  t.is(h.server.counters.refused.ringFull, 1);
  t.is(h.sink.records.length, 0);
  h.sink.refuse = false;
  await stillServes(t, h);
});

test('the status details trailer is unpadded base64, as the gRPC spec says to emit', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  h.sink.refuse = true;
  const outcome = await rawExport(h.port, frame(Buffer.from('x')));
  const value = outcome.headers['grpc-status-details-bin'];
  t.is(typeof value, 'string');
  t.regex(value as string, /^[A-Za-z0-9+/]+$/);
});

test('a deadline that passes mid-upload is DEADLINE_EXCEEDED and the stream is cancelled', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const call = rawCall(h.port, { 'grpc-timeout': '100m' });
  call.stream.write(frame(Buffer.alloc(1000)).subarray(0, 500)); // and then nothing more
  const outcome = await call.outcome;
  call.session.close();
  t.is(outcome.headers['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  t.is(outcome.rstCode, constants.NGHTTP2_CANCEL, 'the spec has the server cancel the call with RST_STREAM(CANCEL)');
  t.is(h.sink.offers, 0);
  t.is(h.server.counters.refused.deadlineExceeded, 1);
});

test('a message completed after its deadline is DEADLINE_EXCEEDED and not stored', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  // One nanosecond: gone by the time the body is read, long before any timer could fire.
  const outcome = await rawExport(h.port, frame(Buffer.from('late')), { 'grpc-timeout': '1n' });
  t.is(outcome.headers['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  t.is(h.sink.offers, 0);
  await stillServes(t, h);
});

test('a generous deadline is no obstacle', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const { error } = await grpcExport(h.target, Buffer.from('in time'), { deadline: new Date(Date.now() + 60_000) });
  t.is(error, null);
  const farAway = await rawExport(h.port, frame(Buffer.from('x')), { 'grpc-timeout': '99999999H' });
  t.is(farAway.trailers?.['grpc-status'], '0', 'a deadline beyond what a timer can hold counts as none');
});

for (const [who, code] of [
  ['cancels (RST_STREAM CANCEL)', constants.NGHTTP2_CANCEL],
  ['resets with an error (RST_STREAM PROTOCOL_ERROR)', constants.NGHTTP2_PROTOCOL_ERROR],
  ['resets without an error (RST_STREAM NO_ERROR)', constants.NGHTTP2_NO_ERROR],
] as const) {
  test(`a client that ${who} before END_STREAM gets nothing stored, even with the message complete`, async (t) => {
    const h = await startServer();
    t.teardown(() => h.server.close(0));
    const session = rawSession(h.port);
    t.teardown(() => session.close());
    const call = rawCall(h.port, {}, session);
    call.stream.write(frame(Buffer.from('abandoned')));
    call.stream.close(code);
    await call.outcome;
    // Frames on one connection are handled in order: once a later call is answered, the
    // reset has been seen.
    const next = rawCall(h.port, {}, session);
    next.stream.end(frame(Buffer.from('next')));
    t.is((await next.outcome).trailers?.['grpc-status'], '0');
    t.is(h.server.counters.cancelled, 1);
    t.deepEqual(
      h.sink.records.map((r) => r.payload.toString()),
      ['next'],
    );
  });
}

test('a client that vanishes mid-upload gets nothing stored', async (t) => {
  const h = await startServer();
  t.teardown(() => h.server.close(0));
  const call = rawCall(h.port);
  call.stream.write(frame(Buffer.alloc(1000)).subarray(0, 500));
  await roundTrip(call.session);
  call.session.destroy();
  await stillServes(t, h);
  // close() resolves only once every connection is gone, so the abandoned call has been seen.
  await h.server.close(10_000);
  t.is(h.server.counters.cancelled, 1);
  t.is(h.sink.records.length, 1, 'only the call from stillServes');
});

test('requests past the in-flight byte budget are UNAVAILABLE with RetryInfo, and the budget is given back', async (t) => {
  const inflight = new InflightBudget(64 * 1024);
  const h = await startServer({ inflight });
  t.teardown(() => h.server.close(0));
  const { error } = await grpcExport(h.target, Buffer.alloc(256 * 1024, 7));
  t.is(error?.code, grpc.status.UNAVAILABLE);
  t.regex(error?.details ?? '', /max_inflight_bytes/);
  t.true(Buffer.isBuffer(error?.metadata.get('grpc-status-details-bin')[0]), 'the refusal carries RetryInfo');
  t.is(h.server.counters.refused.overloaded, 1);
  t.is(h.sink.records.length, 0);
  await stillServes(t, h);
  t.is(inflight.inUse, 0, 'every byte taken was given back');
});

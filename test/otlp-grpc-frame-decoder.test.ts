/**
 * The unary frame decoder on its own: however the DATA chunks split the length prefix and
 * the message, exactly the message bytes come out, as views, and every malformation is named.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { GrpcUnaryFrameDecoder, type FrameProblem, type UnaryMessage } from '../src/ingest/grpc-frame-decoder';
import { frame } from './fixtures/otlp-grpc-harness';

function decode(chunks: Buffer[], options: { max?: number; compression?: boolean } = {}): UnaryMessage | FrameProblem {
  const decoder = new GrpcUnaryFrameDecoder(options.max ?? 1 << 20, options.compression ?? false);
  for (const chunk of chunks) {
    const problem = decoder.push(chunk);
    if (problem !== undefined) return problem;
  }
  return decoder.finish();
}

function payloadOf(result: UnaryMessage | FrameProblem): Buffer {
  if ('kind' in result) throw new Error(`unexpected problem: ${JSON.stringify(result)}`);
  return Buffer.concat(result.chunks);
}

test('every split into two chunks, and one byte at a time, yields exactly the message', (t) => {
  const message = randomBytes(40);
  const wire = frame(message);
  for (let cut = 0; cut <= wire.length; cut++) {
    t.deepEqual(payloadOf(decode([wire.subarray(0, cut), wire.subarray(cut)])), message, `cut at ${cut}`);
  }
  const bytewise = [...wire].map((b) => Buffer.from([b]));
  t.deepEqual(payloadOf(decode(bytewise)), message);
});

test('the chunks handed out are views into the received buffers, not copies', (t) => {
  const wire = frame(randomBytes(100));
  const result = decode([wire]);
  if ('kind' in result) return t.fail();
  t.is(result.chunks.length, 1);
  t.is(result.chunks[0].buffer, wire.buffer);
  t.is(result.chunks[0].byteOffset, wire.byteOffset + 5);
  t.is(result.length, 100);
  t.false(result.compressed);
});

test('a compressed message is reported so when compression was declared', (t) => {
  const result = decode([frame(Buffer.from('gz'), 1)], { compression: true });
  t.like(result, { compressed: true, length: 2 });
});

test('an empty message is a message', (t) => {
  t.like(decode([frame(Buffer.alloc(0))]), { length: 0, chunks: [] });
});

test('an oversized message is reported from the prefix alone', (t) => {
  const decoder = new GrpcUnaryFrameDecoder(10, false);
  t.is(decoder.push(Buffer.from([0, 0, 0])), undefined);
  t.deepEqual(decoder.push(Buffer.from([0, 11])), { kind: 'too-large', length: 11 });
  t.like(decode([frame(Buffer.alloc(10))], { max: 10 }), { length: 10 }, 'the limit itself is allowed');
});

test('bytes after the message are a second message, even when they arrive in the same chunk', (t) => {
  const expected = { kind: 'malformed', reason: 'malformed gRPC frame: more than one message in a unary call' };
  t.deepEqual(decode([Buffer.concat([frame(Buffer.from('a')), Buffer.from([0])])]), expected);
  t.deepEqual(decode([frame(Buffer.from('a')), Buffer.from([0])]), expected);
  t.deepEqual(decode([Buffer.concat([frame(Buffer.alloc(0)), frame(Buffer.alloc(0))])]), expected);
});

test('empty chunks change nothing', (t) => {
  const wire = frame(Buffer.from('abc'));
  t.deepEqual(payloadOf(decode([Buffer.alloc(0), wire.subarray(0, 2), Buffer.alloc(0), wire.subarray(2), Buffer.alloc(0)])), Buffer.from('abc'));
});

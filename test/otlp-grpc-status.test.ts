/**
 * grpc-message encoding: what leaves the server must be printable ASCII without a bare '%',
 * and must decode back to the original text.
 */
import test from 'ava';
import { percentEncodeGrpcMessage } from '../src/ingest/grpc-status';

test('printable ASCII passes unchanged', (t) => {
  t.is(percentEncodeGrpcMessage('message of 5 bytes exceeds the maximum of 4 (x.y)'), 'message of 5 bytes exceeds the maximum of 4 (x.y)');
});

test("'%', control characters and non-ASCII text are percent-encoded as UTF-8", (t) => {
  const original = '100% sûr\n→ ok';
  const encoded = percentEncodeGrpcMessage(original);
  t.is(encoded, '100%25 s%C3%BBr%0A%E2%86%92 ok');
  t.regex(encoded, /^[\x20-\x7e]*$/);
  t.is(decodeURIComponent(encoded), original);
});

import test from 'ava';
import { encodeRetryableStatus } from '../src/common/rpc-status';
import { backoffMs, grpcRetryable, httpRetryable, retryAfterMs, retryInfoDelayMs } from '../src/export/retry-policy';

test('the OTLP table of retryable gRPC codes; RESOURCE_EXHAUSTED only with a RetryInfo', (t) => {
  const retryable = Array.from({ length: 17 }, (_, code) => code).filter((code) => grpcRetryable(code, undefined));
  t.deepEqual(retryable, [1, 4, 10, 11, 14, 15]);
  t.true(grpcRetryable(8, 1000));
  t.false(grpcRetryable(3, 1000), 'INVALID_ARGUMENT stays final even with a delay');
});

test('HTTP 429, 502, 503 and 504 are retryable, nothing else', (t) => {
  const statuses = [200, 400, 401, 403, 404, 408, 413, 429, 500, 501, 502, 503, 504];
  t.deepEqual(statuses.filter(httpRetryable), [429, 502, 503, 504]);
});

test('Retry-After as seconds or an HTTP date; garbage is ignored; a huge delay is capped at 10 minutes', (t) => {
  const now = Date.parse('2026-11-27T10:00:00Z');
  t.is(retryAfterMs('120', now), 120_000);
  t.is(retryAfterMs('Fri, 27 Nov 2026 10:00:30 GMT', now), 30_000);
  t.is(retryAfterMs('Fri, 27 Nov 2026 09:00:00 GMT', now), 0, 'a date in the past means now');
  t.is(retryAfterMs('soon', now), undefined);
  t.is(retryAfterMs(undefined, now), undefined);
  t.is(retryAfterMs('86400', now), 600_000);
});

test('the RetryInfo delay is read from a google.rpc.Status; a malformed one is ignored', (t) => {
  t.is(retryInfoDelayMs(encodeRetryableStatus(14, 'busy', 1500)), 1500);
  t.is(retryInfoDelayMs(Buffer.from([0xff, 0xff, 0xff])), undefined);
  t.is(retryInfoDelayMs(undefined), undefined);
});

test('backoff grows from initial_ms, stays under max_ms, and is jittered', (t) => {
  const retry = { initial_ms: 100, max_ms: 5000, max_elapsed_ms: 0 };
  t.is(backoffMs(retry, 0, () => 0.999), 100);
  t.is(backoffMs(retry, 3, () => 0.999), 799);
  t.is(backoffMs(retry, 40, () => 0.999), 4995);
  t.is(backoffMs(retry, 3, () => 0.5), 400);
  t.is(backoffMs(retry, 3, () => 0), 1);
});

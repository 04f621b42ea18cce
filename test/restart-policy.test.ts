import test from 'ava';
import { RestartPolicy } from '../src/supervisor/restart-policy';

const options = { minMs: 100, maxMs: 5000, loopRestarts: 5, windowMs: 60_000 };

test('backoff doubles from the minimum up to the maximum', (t) => {
  const policy = new RestartPolicy(options);
  const delays = [0, 1, 2, 3].map((i) => policy.onExit(i * 1000, 10).delayMs);
  t.deepEqual(delays, [100, 200, 400, 800]);
});

test('the fifth quick death within the window is reported as a crash loop and slowed to the maximum', (t) => {
  const policy = new RestartPolicy(options);
  const results = [0, 1, 2, 3, 4].map((i) => policy.onExit(i * 100, 10));
  t.deepEqual(results.map((r) => r.crashLoop), [false, false, false, false, true]);
  t.is(results[4].delayMs, 5000);
});

test('a child that stayed up longer than the longest backoff starts a new series', (t) => {
  const policy = new RestartPolicy(options);
  policy.onExit(0, 10);
  policy.onExit(100, 10);
  t.is(policy.onExit(120_000, 60_000).delayMs, 100);
});

test('exits older than the window no longer count toward a crash loop', (t) => {
  const policy = new RestartPolicy(options);
  for (let i = 0; i < 4; i++) policy.onExit(i, 10);
  t.false(policy.onExit(61_000, 10).crashLoop);
});

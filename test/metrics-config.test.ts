import test from 'ava';
import { validateConfig } from '../src/common/config';

test('metrics: defaults are the loopback endpoint on 9464, on', (t) => {
  t.deepEqual(validateConfig({}).metrics, {
    enabled: true,
    listen: { host: '127.0.0.1', port: 9464 },
    insecure: false,
    child_timeout_ms: 500,
    refusing_window_ms: 10_000,
  });
});

test('metrics: a non-loopback address needs insecure: true, since the endpoint is plaintext', (t) => {
  t.throws(() => validateConfig({ metrics: { listen: '0.0.0.0:9464' } }), {
    code: 'GS_CONFIG_INVALID',
    message: /metrics\.listen 0\.0\.0\.0:9464 is not a loopback address.*metrics\.insecure: true/,
  });
  t.deepEqual(validateConfig({ metrics: { listen: '0.0.0.0:9464', insecure: true } }).metrics.listen, { host: '0.0.0.0', port: 9464 });
  t.deepEqual(validateConfig({ metrics: { listen: '[::1]:9000' } }).metrics.listen, { host: '::1', port: 9000 });
  t.is(validateConfig({ metrics: { listen: 'localhost:9000' } }).metrics.listen.host, 'localhost');
});

test('metrics: wrong types and unknown keys name the key', (t) => {
  t.throws(() => validateConfig({ metrics: { enabled: 'no' } }), { message: 'Expected true or false for metrics.enabled but received "no"' });
  t.throws(() => validateConfig({ metrics: { listen: 'unix:/tmp/m.sock' } }), { message: /for metrics\.listen/ });
  t.throws(() => validateConfig({ metrics: { child_timeout_ms: 0 } }), { message: /Expected an integer from 10 to 60000 for metrics\.child_timeout_ms/ });
  t.throws(() => validateConfig({ metrics: { port: 9464 } }), { message: /unknown key metrics\.port \(allowed here: enabled, listen, insecure, child_timeout_ms, refusing_window_ms\)/ });
});

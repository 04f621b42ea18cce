import test from 'ava';
import { join } from 'node:path';
import { openFileLimit, validateConfig } from '../src/common/config';

test('OTLP/HTTP and lines listen on their defaults: 4318, and 5170 plus <data_dir>/lines.sock', (t) => {
  const config = validateConfig({ data_dir: '/srv/gs' });
  t.deepEqual(config.ingest.otlp_http, { listen: [{ kind: 'tcp', host: '127.0.0.1', port: 4318 }], tls: null, max_body_bytes: 20 * 1024 * 1024, idle_timeout_ms: 10_000, request_timeout_ms: 60_000 });
  t.deepEqual(config.ingest.lines, {
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 5170 }, { kind: 'unix', path: join('/srv/gs', 'lines.sock') }],
    tls: null,
    max_line_bytes: 64 * 1024,
    long_lines: 'split',
    idle_timeout_ms: 120_000,
  });
  t.is(config.ingest.otlp_grpc.stream_idle_timeout_ms, 10_000);
});

test('the connection cap defaults to the smaller of a share of the open-file limit and of half the heap, per listener', (t) => {
  const config = validateConfig({ data_dir: '/srv/gs' });
  // Five listeners (gRPC TCP and Unix, HTTP, lines TCP and Unix), two of them lines.
  const byFds = Math.floor((openFileLimit() - 64) / 5);
  const byMemory = Math.floor((256 * 1024 * 1024) / 2 / 2 / (64 * 1024 + 64 * 1024));
  t.is(config.ingest.max_connections, Math.min(byFds, byMemory));
  t.true(5 * config.ingest.max_connections + 64 <= openFileLimit(), 'all listeners full still leave the reserve of descriptors');
  t.is(validateConfig({ ingest: { max_connections: 7 } }).ingest.max_connections, 7);
  t.is(validateConfig({ ingest: { max_heap_mib: 16 } }).ingest.max_connections, Math.min(byFds, 32), 'a smaller heap, fewer connections');
  t.throws(() => validateConfig({ ingest: { max_connections: 0 } }), { message: /ingest\.max_connections/ });
  t.throws(() => validateConfig({ ingest: { lines: { idle_timeout_ms: 10 } } }), { message: /ingest\.lines\.idle_timeout_ms/ });
});

test('receiver sections are checked like every other: listen entries, bounds, policies, unknown keys', (t) => {
  t.throws(() => validateConfig({ ingest: { otlp_http: { listen: ['4318'] } } }), { message: /ingest\.otlp_http\.listen\[0\]/ });
  // One address may be written without the list around it.
  t.deepEqual(validateConfig({ ingest: { lines: { listen: 'unix:/x' } } }).ingest.lines.listen, [{ kind: 'unix', path: '/x' }]);
  t.throws(() => validateConfig({ ingest: { lines: { listen: { port: 5170 } } } }), { message: /a list of .* for ingest\.lines\.listen/ });
  t.throws(() => validateConfig({ ingest: { lines: { long_lines: 'wrap' } } }), { message: /one of split, truncate for ingest\.lines\.long_lines/ });
  t.throws(() => validateConfig({ ingest: { lines: { max_line_bytes: 8 } } }), { message: /ingest\.lines\.max_line_bytes/ });
  t.throws(() => validateConfig({ ingest: { otlp_http: { max_body: 1 } } }), { message: /unknown key ingest\.otlp_http\.max_body/ });
});

test('rings must hold the largest OTLP/HTTP body and the largest lines record twice; the defaults shrink to fit', (t) => {
  t.throws(() => validateConfig({ ingest: { max_message_bytes: 1024 * 1024, otlp_http: { max_body_bytes: 20 * 1024 * 1024 } }, rings: { green_bytes: 4 * 1024 * 1024 } }), { message: /rings\.green_bytes .*here 20971520/ });
  const small = validateConfig({ ingest: { max_message_bytes: 256 * 1024 }, rings: { green_bytes: 1024 * 1024, red_bytes: 1024 * 1024 } });
  t.is(small.ingest.otlp_http.max_body_bytes, 512 * 1024 - 64, 'the body limit defaults to what half the smaller ring holds');
  t.is(small.ingest.lines.max_line_bytes, 64 * 1024);
  t.throws(
    () => validateConfig({ ingest: { max_message_bytes: 1024, otlp_http: { max_body_bytes: 1024 }, lines: { max_line_bytes: 1024 * 1024 } }, rings: { green_bytes: 2 * 1024 * 1024, red_bytes: 4 * 1024 * 1024 } }),
    { message: /rings\.green_bytes/ },
  );
  t.notThrows(() => validateConfig({ ingest: { max_message_bytes: 1024, otlp_http: { max_body_bytes: 1024 } }, rings: { green_bytes: 512 * 1024, red_bytes: 512 * 1024 } }));
});

import test from 'ava';
import { validateConfig, type OtlpGrpcExporterConfig } from '../src/common/config';
import { ConfigError } from '../src/common/errors';

test('sizes take units, durations take units, plain integers still work', (t) => {
  const c = validateConfig({
    ingest: { max_message_bytes: '512Ki', otlp_grpc: { window_bytes: '1MiB', stream_idle_timeout_ms: '30s' }, lines: { idle_timeout_ms: '2m' } },
    rings: { green_bytes: '16Mi', red_bytes: 16 * 1024 * 1024 },
    vault: { segment_bytes: '64MiB', max_bytes: '1GiB', sync_interval_ms: 250 },
    metrics: { child_timeout_ms: '250ms' },
  });
  t.is(c.ingest.max_message_bytes, 512 * 1024);
  t.is(c.ingest.otlp_grpc.window_bytes, 1024 * 1024);
  t.is(c.ingest.otlp_grpc.stream_idle_timeout_ms, 30_000);
  t.is(c.ingest.lines.idle_timeout_ms, 120_000);
  t.is(c.rings.green_bytes, 16 * 1024 * 1024);
  t.is(c.vault.segment_bytes, 64 * 1024 * 1024);
  t.is(c.vault.max_bytes, 1024 * 1024 * 1024);
  t.is(c.vault.sync_interval_ms, 250);
  t.is(c.metrics.child_timeout_ms, 250);
  t.throws(() => validateConfig({ vault: { segment_bytes: '64 lightyears' } }), { instanceOf: ConfigError, message: /for vault\.segment_bytes but received "64 lightyears" \(bytes, or a size with a unit/ });
  t.throws(() => validateConfig({ zones: { min_dwell_ms: '1 fortnight' } }), { message: /for zones\.min_dwell_ms but received "1 fortnight" \(milliseconds, or a duration/ });
  t.throws(() => validateConfig({ rings: { green_bytes: '3MiB' } }), { message: /for rings\.green_bytes .*a power of two/ });
});

test('an unknown key names the keys allowed there and the nearest one', (t) => {
  t.throws(() => validateConfig({ exporter: [{ type: 'stdout' }] }), { instanceOf: ConfigError, message: /^unknown key exporter \(allowed here: .*\); did you mean exporters\?$/ });
  t.throws(() => validateConfig({ ingest: { otlp_grpc: { lisen: [] } } }), { message: /unknown key ingest\.otlp_grpc\.lisen .*did you mean listen\?/ });
  t.throws(() => validateConfig({ exporters: [{ type: 'otlp_grpc', endpoint: 'h:1', retyr: {} }] }), { message: /unknown key exporters\[0\]\.retyr .*did you mean retry\?/ });
});

test('an otlp_grpc endpoint may be a URL: http:// is plaintext, https:// is TLS', (t) => {
  const grpc = (endpoint: string, extra: object = {}): OtlpGrpcExporterConfig => validateConfig({ exporters: [{ type: 'otlp_grpc', endpoint, ...extra }] }).exporters[0] as OtlpGrpcExporterConfig;
  t.deepEqual(grpc('http://collector:4317').endpoint, { kind: 'tcp', host: 'collector', port: 4317 });
  t.is(grpc('http://collector:4317').tls, null);
  t.deepEqual(grpc('https://collector:4317').tls, { ca: null, cert: null, key: null, server_name: null });
  t.is(grpc('https://collector:4317', { tls: { server_name: 'c.example' } }).tls?.server_name, 'c.example');
  t.deepEqual(grpc('unix:/run/c.sock').endpoint, { kind: 'unix', path: '/run/c.sock' });
  t.throws(() => grpc('http://collector:4317', { tls: { server_name: 'x' } }), { message: /exporters\[0\]\.endpoint is http:\/\/ \(plaintext\) but exporters\[0\]\.tls is set/ });
  t.throws(() => grpc('https://collector:4317/v1/logs'), { message: /for exporters\[0\]\.endpoint/ });
});

test("exporter tls uses the listeners' cert, key, ca; the _file spellings still load", (t) => {
  const tls = (section: object): OtlpGrpcExporterConfig['tls'] => (validateConfig({ exporters: [{ type: 'otlp_grpc', endpoint: 'h:1', tls: section }] }).exporters[0] as OtlpGrpcExporterConfig).tls;
  t.deepEqual(tls({ ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' }), { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', server_name: null });
  t.deepEqual(tls({ ca_file: '/ca.pem', cert_file: '/c.pem', key_file: '/k.pem' }), { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', server_name: null });
  t.throws(() => tls({ ca: '/a.pem', ca_file: '/b.pem' }), { message: /tls\.ca_file and exporters\[0\]\.tls\.ca both set/ });
});

test('the resolved configuration survives JSON, as the children get it', (t) => {
  const c = validateConfig({ exporters: [{ type: 'otlp_grpc', endpoint: 'https://collector:4317' }, { type: 'file' }] });
  t.deepEqual(JSON.parse(JSON.stringify(c)), c);
});

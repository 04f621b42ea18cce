import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../src/common/errors';
import { checkPlaintextListeners, validateConfig } from '../src/common/config';
import { makePki, type TestPki } from './helpers/certs';
import { scratchDir } from './helpers/engine';

let pki: TestPki;
test.before(() => {
  pki = makePki(scratchDir('test-config-tls-'));
});
test.after.always(() => rmSync(pki.dir, { recursive: true, force: true }));

const grpc = (otlp: Record<string, unknown>): unknown => ({ ingest: { otlp_grpc: otlp } });

test('a plaintext listener on a non-loopback address is refused, and the error says how to fix it', (t) => {
  const error = t.throws(() => validateConfig(grpc({ listen: ['0.0.0.0:4317'] })), { instanceOf: ConfigError });
  t.is(
    error?.message,
    'ingest.otlp_grpc.listen has 0.0.0.0:4317, a plaintext listener on a non-loopback address: configure ingest.otlp_grpc.tls (cert and key), or set ingest.otlp_grpc.insecure: true to accept plaintext there on purpose',
  );
});

test('plaintext is fine on loopback and Unix sockets, or anywhere with insecure: true', (t) => {
  t.notThrows(() => validateConfig(grpc({ listen: ['127.0.0.2:4317', 'localhost:4317', '[::1]:4317', 'unix:/tmp/x.sock'] })));
  t.deepEqual(validateConfig(grpc({ listen: ['0.0.0.0:4317'], insecure: true })).ingest.otlp_grpc.listen, [{ kind: 'tcp', host: '0.0.0.0', port: 4317 }]);
});

test('with tls the listener may face the network; TLS 1.3 and client certificates from the CA are the defaults', (t) => {
  const c = validateConfig(grpc({ listen: ['0.0.0.0:4317'], tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } }));
  t.deepEqual(c.ingest.otlp_grpc.tls, { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, client_auth: 'require', min_version: '1.3' });
  const serverOnly = validateConfig(grpc({ tls: { cert: pki.server.cert, key: pki.server.key } }));
  t.is(serverOnly.ingest.otlp_grpc.tls?.client_auth, 'none');
});

test('tls mistakes name the key: client certificates without a CA, an unreadable file, an unknown version', (t) => {
  t.throws(() => validateConfig(grpc({ tls: { cert: pki.server.cert, key: pki.server.key, client_auth: 'require' } })), {
    message: /ingest\.otlp_grpc\.tls\.client_auth is require but ingest\.otlp_grpc\.tls\.ca is not set/,
  });
  t.throws(() => validateConfig(grpc({ tls: { cert: join(pki.dir, 'missing.crt'), key: pki.server.key } })), { message: /cannot read ingest\.otlp_grpc\.tls\.cert \S+missing\.crt: ENOENT/ });
  t.throws(() => validateConfig(grpc({ tls: { cert: pki.server.cert, key: pki.server.key, min_version: '1.1' } })), { message: /one of 1\.3, 1\.2 for ingest\.otlp_grpc\.tls\.min_version/ });
});

test('the control TCP listener is never plaintext, always wants client certificates, and defaults to 127.0.0.1:9092', (t) => {
  t.throws(() => validateConfig({ control: { tcp: { listen: '127.0.0.1:9092' } } }), { message: /control\.tcp has no tls: the TCP control listener is never plaintext/ });
  t.throws(() => validateConfig({ control: { tcp: { tls: { cert: pki.server.cert, key: pki.server.key } } } }), { message: /control\.tcp\.tls\.ca is not set/ });
  t.throws(() => validateConfig({ control: { tcp: { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, client_auth: 'none' } } } }), {
    message: /unknown key control\.tcp\.tls\.client_auth/,
  });
  const c = validateConfig({ control: { tcp: { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } } } });
  t.deepEqual(c.control.tcp?.listen, { kind: 'tcp', host: '127.0.0.1', port: 9092 });
  t.is(c.control.tcp?.tls.client_auth, 'require');
});

test('the control socket defaults to <data_dir>/control.sock; allowed_uids to root and the engine\'s own uid', (t) => {
  const c = validateConfig({ data_dir: '/srv/gs' });
  t.is(c.control.socket, '/srv/gs/control.sock');
  t.deepEqual(c.control.allowed_uids, [...new Set([0, process.getuid!()])]);
  t.throws(() => validateConfig({ control: { allowed_uids: ['root'] } }), { message: /Expected a list of numeric user ids for control\.allowed_uids/ });
});

test('any listener section can call the plaintext check', (t) => {
  t.throws(() => checkPlaintextListeners([{ kind: 'tcp', host: '10.0.0.1', port: 5170 }], 'ingest.lines', false, false), { message: /^ingest\.lines\.listen has 10\.0\.0\.1:5170/ });
  t.notThrows(() => checkPlaintextListeners([{ kind: 'tcp', host: '10.0.0.1', port: 5170 }], 'ingest.lines', true, false));
});

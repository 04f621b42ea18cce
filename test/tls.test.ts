/**
 * TLS on the OTLP gRPC ingest listener and on the control plane's TCP listener, against one
 * real engine, with certificates made by openssl at test time.
 */
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import type { EngineStatusMessage } from '../src/common/control-proto';
import { freePort } from '../bench/child-io';
import { makePki, type TestPki } from './helpers/certs';
import { scratchDir, startEngine, type Engine } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { sdkSender, sendRecords } from './helpers/otel-sdk';
import { tlsProbe } from './helpers/tls-probe';

const test = anyTest as TestFn<{ pki: TestPki; engine: Engine; controlPort: number }>;

test.before(async (t) => {
  const dir = scratchDir('test-tls-');
  const pki = makePki(dir);
  const controlPort = await freePort();
  const serverTls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca };
  const engine = await startEngine({
    ingest: { otlp_grpc: { tls: serverTls } },
    control: { tcp: { listen: `127.0.0.1:${controlPort}`, tls: serverTls } },
  });
  t.context = { pki, engine, controlPort };
});

test.after.always(async (t) => {
  await t.context.engine?.cleanup();
  rmSync(t.context.pki?.dir ?? '/nonexistent', { recursive: true, force: true });
});

test('ingest: the OpenTelemetry SDK exporter with mTLS credentials delivers records', async (t) => {
  const { pki, engine } = t.context;
  const creds = grpc.credentials.createSsl(readFileSync(pki.ca), readFileSync(pki.client.key), readFileSync(pki.client.cert));
  // Delivered means acknowledged by ingest: the bytes are in a ring (the engine's guarantee).
  t.deepEqual(await sendRecords(`https://localhost:${engine.grpcPort}`, 'tls', 300, { batchSize: 100, credentials: creds }), { delivered: 300, failed: 0 });
});

test('ingest: a client certificate from the configured CA is accepted', async (t) => {
  const { pki, engine } = t.context;
  const r = await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.client });
  t.true(r.accepted);
});

test('ingest: a client certificate from another CA is refused', async (t) => {
  const { pki, engine } = t.context;
  t.like(await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.foreignClient }), { accepted: false });
});

test('ingest: a client without a certificate is refused', async (t) => {
  const { pki, engine } = t.context;
  t.deepEqual(await tlsProbe({ port: engine.grpcPort, ca: pki.ca }), { accepted: false, reason: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
});

test('ingest: an expired client certificate is refused', async (t) => {
  const { pki, engine } = t.context;
  t.like(await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.expiredClient }), { accepted: false });
});

test('ingest: a TLS 1.2 client is refused by default', async (t) => {
  const { pki, engine } = t.context;
  const r = await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.client, maxVersion: 'TLSv1.2' });
  t.like(r, { accepted: false });
  t.regex((r as { reason: string }).reason, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
});

test('ingest: the SDK exporter without a client certificate delivers nothing', async (t) => {
  const { pki, engine } = t.context;
  const sender = sdkSender(`https://localhost:${engine.grpcPort}`, 100, grpc.credentials.createSsl(readFileSync(pki.ca)));
  sender.emit('no-cert');
  t.deepEqual(await sender.flush(), { delivered: 0, failed: 1 });
  await sender.shutdown();
});

function tlsArgs(pki: TestPki, client = pki.client, ca = pki.ca): string[] {
  return ['--tls', '--cert', client.cert, '--key', client.key, '--ca', ca];
}

test('control: gs-ctl over mTLS TCP gets the status', async (t) => {
  const { pki, engine, controlPort } = t.context;
  // The options before the command, as operators write it.
  const run = await gsCtl(...tlsArgs(pki), '--addr', `localhost:${controlPort}`, '--json', 'status');
  t.is(run.code, 0, run.stderr);
  t.is((JSON.parse(run.stdout) as EngineStatusMessage).pid, engine.process.pid!);
});

test('control: plaintext to the TLS listener fails with exit 3 and a one-line reason', async (t) => {
  const run = await gsCtl('status', '--addr', `127.0.0.1:${t.context.controlPort}`);
  t.is(run.code, 3);
  t.regex(run.stderr, /^gs-ctl status: cannot reach the engine at 127\.0\.0\.1:\d+: the engine closed the connection \(a TLS listener\? add --tls, --cert, --key and --ca\)\n$/);
});

test('control: a client certificate from another CA fails with exit 3 and says so', async (t) => {
  const { pki, controlPort } = t.context;
  const run = await gsCtl('status', ...tlsArgs(pki, pki.foreignClient), '--addr', `localhost:${controlPort}`);
  t.is(run.code, 3);
  t.regex(run.stderr, /^gs-ctl status: cannot reach the engine at localhost:\d+: the engine closed the connection after the TLS handshake: it did not accept this client certificate [^\n]*\n$/);
});

test('control: an expired client certificate fails with exit 3', async (t) => {
  const { pki, controlPort } = t.context;
  const run = await gsCtl('status', ...tlsArgs(pki, pki.expiredClient), '--addr', `localhost:${controlPort}`);
  t.is(run.code, 3);
  t.regex(run.stderr, /did not accept this client certificate/);
});

test('control: a server certificate gs-ctl cannot verify fails with exit 3 and the reason', async (t) => {
  const { pki, controlPort } = t.context;
  const run = await gsCtl('status', ...tlsArgs(pki, pki.client, pki.otherCa), '--addr', `localhost:${controlPort}`);
  t.is(run.code, 3);
  t.regex(run.stderr, /SELF_SIGNED_CERT_IN_CHAIN/);
});

test('control: TLS 1.2 and a missing client certificate are refused at the handshake', async (t) => {
  const { pki, controlPort } = t.context;
  t.like(await tlsProbe({ port: controlPort, ca: pki.ca, ...pki.client, maxVersion: 'TLSv1.2' }), { accepted: false });
  t.deepEqual(await tlsProbe({ port: controlPort, ca: pki.ca }), { accepted: false, reason: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
  t.true((await tlsProbe({ port: controlPort, ca: pki.ca, ...pki.client })).accepted);
});

test('control: --tls on a Unix socket and --cert without --tls are usage errors (exit 2)', async (t) => {
  const { pki } = t.context;
  t.is((await gsCtl('status', ...tlsArgs(pki), '--addr', 'unix:/tmp/x.sock')).code, 2);
  t.is((await gsCtl('status', '--cert', pki.client.cert, '--addr', 'localhost:1')).code, 2);
});

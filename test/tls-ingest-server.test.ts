import test from 'ava';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { TlsReloader, tlsServerOptions } from '../src/common/tls-context';
import { parseTlsConfig, type TlsConfig } from '../src/common/tls-config';
import { createLogger } from '../src/common/log';
import { EXPORT_LOGS_PATH, createOtlpGrpcServer, type OtlpGrpcServer } from '../src/ingest/otlp-grpc-server';
import { makePki, type TestPki } from './helpers/certs';
import { scratchDir, startEngine } from './helpers/engine';
import { tlsProbe } from './helpers/tls-probe';

/** One Export call on an existing HTTP/2 session; resolves with its grpc-status. */
function exportOne(session: ClientHttp2Session, id: string): Promise<string | undefined> {
  const message = ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: id }, attributes: [{ key: 'test.id', value: { stringValue: id } }] }] }] }] }),
  ).finish();
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': EXPORT_LOGS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('trailers', (trailers) => resolve(trailers['grpc-status'] as string | undefined));
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) resolve(headers['grpc-status'] as string);
    });
    stream.on('error', reject);
    stream.resume();
    stream.end(frame);
  });
}

type Teardown = { teardown(fn: () => unknown): void };

/** A test PKI, plus a copy of the server certificate and key that a test may overwrite. */
function pkiWithLiveFiles(t: Teardown, prefix: string): { pki: TestPki; live: { cert: string; key: string } } {
  const dir = scratchDir(prefix);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makePki(dir);
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  copyFileSync(pki.server.cert, live.cert);
  copyFileSync(pki.server.key, live.key);
  return { pki, live };
}

/** The ingest server alone, in this process, on a free port; its sink takes everything. */
async function ingestServer(t: Teardown, tls: TlsConfig): Promise<{ server: OtlpGrpcServer; port: number }> {
  const server = createOtlpGrpcServer({ sink: { offer: () => true }, maxMessageBytes: 1024 * 1024, maxConcurrentStreams: 10, windowBytes: 65535, tls: tlsServerOptions(tls) });
  await server.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close(0));
  return { server, port: (server.address() as { port: number }).port };
}

test('SIGHUP and a changed file reload the ingest certificate without dropping an established connection', async (t) => {
  const { pki, live } = pkiWithLiveFiles(t, 'test-tls-reload-');
  const engine = await startEngine({ ingest: { otlp_grpc: { tls: { ...live, ca: pki.ca } } } });
  t.teardown(() => engine.cleanup());

  const before = await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.client });
  t.like(before, { accepted: true });
  const session = connect(`https://localhost:${engine.grpcPort}`, { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
  t.teardown(() => session.destroy());
  t.is(await exportOne(session, 'before-reload'), '0');

  copyFileSync(pki.renewedServer.key, live.key);
  copyFileSync(pki.renewedServer.cert, live.cert);
  engine.process.kill('SIGHUP');
  for (const worker of ['ingest-0', 'ingest-1']) {
    await engine.waitForLog((l) => l.msg === 'tls certificate reloaded' && l.component === worker && l.reason === 'SIGHUP');
    await engine.waitForLog((l) => l.msg === 'tls certificate reloaded' && l.component === worker && l.reason === 'file changed');
  }

  const after = await tlsProbe({ port: engine.grpcPort, ca: pki.ca, ...pki.client });
  t.true(after.accepted && before.accepted && after.serial !== before.serial, 'new handshakes get the renewed certificate');
  t.is(await exportOne(session, 'after-reload'), '0', 'the connection made before the reload still serves calls');
  t.false(session.destroyed);
});

test('min_version 1.2, configured explicitly, lets a TLS 1.2 client in', async (t) => {
  const { pki, live } = pkiWithLiveFiles(t, 'test-tls12-');
  const tls = parseTlsConfig({ ...live, ca: pki.ca, min_version: '1.2' }, 'test.tls');
  t.is(tls.min_version, '1.2');
  const { port } = await ingestServer(t, tls);
  t.like(await tlsProbe({ port, ca: pki.ca, ...pki.client, maxVersion: 'TLSv1.2' }), { accepted: true });
});

test('a reload that fails keeps the previous certificate in use', async (t) => {
  const { pki, live } = pkiWithLiveFiles(t, 'test-tls-bad-reload-');
  const tls = parseTlsConfig({ ...live, ca: pki.ca }, 'test.tls');
  const { server, port } = await ingestServer(t, tls);
  const before = await tlsProbe({ port, ca: pki.ca, ...pki.client });

  // A key that does not belong to the certificate: setSecureContext refuses it.
  copyFileSync(pki.client.key, live.key);
  const reloader = new TlsReloader(tls, [server], createLogger('test'), 'test');
  t.teardown(() => reloader.close());
  reloader.reload('test');
  t.deepEqual(await tlsProbe({ port, ca: pki.ca, ...pki.client }), before);
});

test('client_auth request: a client without a certificate comes in, one with a certificate that does not verify does not', async (t) => {
  const { pki, live } = pkiWithLiveFiles(t, 'test-tls-request-');
  const { port } = await ingestServer(t, parseTlsConfig({ ...live, ca: pki.ca, client_auth: 'request' }, 'test.tls'));
  t.like(await tlsProbe({ port, ca: pki.ca }), { accepted: true });
  t.like(await tlsProbe({ port, ca: pki.ca, ...pki.client }), { accepted: true });
  t.like(await tlsProbe({ port, ca: pki.ca, ...pki.foreignClient }), { accepted: false });
  t.like(await tlsProbe({ port, ca: pki.ca, ...pki.expiredClient }), { accepted: false });
});

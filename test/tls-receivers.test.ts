/**
 * TLS on the OTLP/HTTP and lines receivers, with certificates made by openssl at test time:
 * a client with a certificate from the engine's CA gets in, one without or with TLS 1.2
 * does not, and what came in over TLS is exported.
 */
import test from 'ava';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { makePki, type TestPki } from './helpers/certs';
import { scratchDir, startEngine } from './helpers/engine';
import { readLinesOutput } from './helpers/lines';
import { countIds } from './helpers/output';

function body(ids: string[]): Buffer {
  const logRecords = ids.map((id) => ({ body: { stringValue: id }, attributes: [{ key: 'test.id', value: { stringValue: id } }] }));
  return Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] })).finish());
}

/** POSTs to /v1/logs over TLS; resolves with the status, or the error that stopped the request. */
function post(port: number, pki: TestPki, payload: Buffer, client: 'with-cert' | 'no-cert' | 'tls1.2'): Promise<number | Error> {
  const auth = client === 'no-cert' ? {} : { cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        path: '/v1/logs',
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        ca: readFileSync(pki.ca),
        ...auth,
        ...(client === 'tls1.2' ? { maxVersion: 'TLSv1.2' as const } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', resolve);
    req.end(payload);
  });
}

test('OTLP/HTTP and lines over TLS: client certificates required, TLS 1.3 only, and what came in is exported', async (t) => {
  const pki = makePki(scratchDir('test-tls-receivers-'));
  t.teardown(() => rmSync(pki.dir, { recursive: true, force: true }));
  const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, client_auth: 'require' };
  const engine = await startEngine({ ingest: { otlp_http: { tls }, lines: { tls } } });
  t.teardown(() => engine.cleanup());

  t.is(await post(engine.httpPort, pki, body(['https-1', 'https-2']), 'with-cert'), 200);
  t.true((await post(engine.httpPort, pki, body(['https-nocert']), 'no-cert')) instanceof Error, 'no client certificate: refused');
  t.true((await post(engine.httpPort, pki, body(['https-tls12']), 'tls1.2')) instanceof Error, 'TLS 1.2: refused');

  const secure = tlsConnect({ host: '127.0.0.1', port: engine.linesPort, servername: 'localhost', ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
  await once(secure, 'secureConnect');
  secure.end('tls-line-1\ntls-line-2\n');
  await once(secure, 'close');
  // Plain TCP to the TLS lines port: the bytes are a broken handshake, not lines.
  const plain = tcpConnect(engine.linesPort, '127.0.0.1');
  plain.on('error', () => {});
  plain.end('plain-line\n');
  await once(plain, 'close');

  t.is(await engine.stop(), 0);
  const ids = countIds(engine.outputPath);
  t.deepEqual([ids.get('https-1'), ids.get('https-2'), ids.get('https-nocert'), ids.get('https-tls12')], [1, 1, undefined, undefined]);
  const lines = readLinesOutput(engine.outputPath).bodies;
  t.deepEqual([lines.get('tls-line-1'), lines.get('tls-line-2'), lines.get('plain-line')], [1, 1, undefined]);
});

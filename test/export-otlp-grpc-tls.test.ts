import test from 'ava';
import { ServerCredentials } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportLogsServiceResponse } from '../src/common/otlp-proto';
import { grpcDownstream, idsOf } from './helpers/downstream';
import { scratchDir, startEngine } from './helpers/engine';
import { sdkSender, sendRecords } from './helpers/otel-sdk';

/** A CA, a server certificate for localhost and a client certificate, made with openssl. */
function makePki(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', path('ca.key'), '-out', path('ca.pem'));
  for (const [name, cn] of [['server', 'localhost'], ['client', 'gophership-sidecar']]) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`));
    writeFileSync(path(`${name}.ext`), name === 'server' ? 'subjectAltName=DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
    openssl('x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', path(`${name}.ext`), '-out', path(`${name}.pem`));
  }
  return { ca: path('ca.pem'), serverCert: path('server.pem'), serverKey: path('server.key'), clientCert: path('client.pem'), clientKey: path('client.key') };
}

test('mTLS: with its client certificate the exporter delivers; without one the downstream refuses the handshake and the exporter keeps retrying', async (t) => {
  const dir = scratchDir('test-pki-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makePki(dir);
  const credentials = ServerCredentials.createSsl(readFileSync(pki.ca), [{ private_key: readFileSync(pki.serverKey), cert_chain: readFileSync(pki.serverCert) }], true);
  const downstream = await grpcDownstream(() => ({ response: Buffer.from(ExportLogsServiceResponse.encode({}).finish()) }), credentials);
  t.teardown(() => downstream.close());
  const exporter = (tls: Record<string, string>): Record<string, unknown> => ({
    type: 'otlp_grpc',
    endpoint: `127.0.0.1:${downstream.port}`,
    tls: { ca: pki.ca, server_name: 'localhost', ...tls },
    batch: { delay_ms: 0 },
    retry: { initial_ms: 20, max_ms: 200 },
  });

  const withCert = await startEngine({ exporters: [exporter({ cert: pki.clientCert, key: pki.clientKey })] });
  t.teardown(() => withCert.cleanup());
  t.deepEqual(await sendRecords(`http://127.0.0.1:${withCert.grpcPort}`, 'tls', 20), { delivered: 20, failed: 0 });
  await downstream.arrived(1);
  t.is(await withCert.stop(), 0);
  t.deepEqual(idsOf(downstream.arrivals).sort(), Array.from({ length: 20 }, (_, i) => `tls-${i}`).sort());

  // Its stop gives up on the undeliverable record after the grace; the record stays in the ring.
  const withoutCert = await startEngine({ exporters: [exporter({})], supervisor: { shutdown_timeout_ms: 2000 } });
  t.teardown(() => withoutCert.cleanup());
  const refused = sdkSender(`http://127.0.0.1:${withoutCert.grpcPort}`);
  refused.emit('no-cert');
  t.deepEqual(await refused.flush(), { delivered: 1, failed: 0 }, 'ingest acknowledges; the record waits in the ring');
  await refused.shutdown();
  const retry = await withoutCert.waitForLog((l) => l.msg === 'downstream unavailable; will retry');
  t.is(retry.exporter, 'otlp_grpc[0]');
  t.is(downstream.arrivals.length, 1, 'nothing got through without a client certificate');
});

/**
 * Test certificates, made at test time with the openssl command-line tool (EC P-256, so it
 * is quick): a CA with server and client certificates, a second CA with a client
 * certificate of its own, a client certificate that expired in 2020, and a second server
 * certificate for reload tests.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: string;
  otherCa: string;
  server: KeyPair;
  /** Same CA and names as `server`, another key and serial: what a renewal installs. */
  renewedServer: KeyPair;
  client: KeyPair;
  /** Signed by otherCa. */
  foreignClient: KeyPair;
  /** Signed by ca, valid only on 2020-01-01. */
  expiredClient: KeyPair;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

function request(dir: string, name: string, cn: string): void {
  openssl(dir, 'req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
}

let serial = 100;

function sign(dir: string, name: string, ca: string, usage: 'serverAuth' | 'clientAuth'): KeyPair {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, usage === 'serverAuth' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(serial++), '-days', '2', '-out', `${name}.crt`, '-extfile', ext);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** OpenSSL 3.0's `x509` cannot back-date; `ca` can, with a minimal configuration. */
function signExpired(dir: string, name: string, ca: string): KeyPair {
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\ncertificate = ${ca}.crt\nprivate_key = ${ca}.key\nserial = serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n`,
  );
  openssl(dir, 'ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.crt`, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext');
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

export function makePki(dir: string): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  for (const [name, cn] of [['server', 'localhost'], ['renewed-server', 'localhost'], ['client', 'operator'], ['foreign-client', 'intruder'], ['expired-client', 'operator']]) request(dir, name, cn);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other-ca.crt'),
    server: sign(dir, 'server', 'ca', 'serverAuth'),
    renewedServer: sign(dir, 'renewed-server', 'ca', 'serverAuth'),
    client: sign(dir, 'client', 'ca', 'clientAuth'),
    foreignClient: sign(dir, 'foreign-client', 'other-ca', 'clientAuth'),
    expiredClient: signExpired(dir, 'expired-client', 'ca'),
  };
}

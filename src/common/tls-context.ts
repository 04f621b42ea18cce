/**
 * Server-side TLS from a TlsConfig: the options a tls or http2 secure server starts with,
 * and reloading the certificate and key in place (SIGHUP, or the files changing) with
 * `setSecureContext`, which applies to new handshakes only: established connections stay up.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SecureContextOptions, Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from './log';
import type { TlsConfig } from './tls-config';

/** How often the certificate files are looked at for a change (a stat each). */
const WATCH_INTERVAL_MS = 1000;

export function secureContextOptions(tls: TlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(tls.cert),
    key: readFileSync(tls.key),
    ...(tls.ca === null ? {} : { ca: readFileSync(tls.ca) }),
    minVersion: tls.min_version === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
  };
}

/**
 * Everything a server needs: the context, client-certificate policy, and ALPN (gRPC: `h2`;
 * an HTTP/1.1 listener adds `http/1.1`; a plain TCP protocol passes none).
 */
export function tlsServerOptions(tls: TlsConfig, alpn: readonly string[] = ['h2']): TlsOptions {
  return {
    ...secureContextOptions(tls),
    requestCert: tls.client_auth !== 'none',
    rejectUnauthorized: tls.client_auth === 'require',
    ...(alpn.length === 0 ? {} : { ALPNProtocols: [...alpn] }),
  };
}

/**
 * What every TLS receiver does beside serving: log refused handshakes (at debug: a scanner
 * must not flood the log), and enforce `client_auth: request` where `tls` asks for it.
 */
export function guardTlsServer(server: TlsServer, tls: TlsOptions, log: Logger, what: string): void {
  server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string }) => log.debug(`${what} tls handshake refused`, { remote: socket.remoteAddress, reason: err.message }));
  if (tls.requestCert === true && tls.rejectUnauthorized === false) refuseUnverifiedCertificates(server, log);
}

/**
 * `client_auth: request`: a client may come without a certificate, but one it presents must
 * verify. Node's rejectUnauthorized is all or nothing, so the check is made once the
 * handshake is done: a presented certificate that failed verification closes the connection.
 */
function refuseUnverifiedCertificates(server: TlsServer, log: Logger): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized || Object.keys(socket.getPeerCertificate()).length === 0) return;
    log.debug('tls client certificate refused', { remote: socket.remoteAddress, reason: socket.authorizationError });
    socket.destroy();
  });
}

export interface ReloadableServer {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Keeps a server's certificate current. A reload that fails (a half-written file, a key
 * that does not match) is logged and the previous context stays in use.
 */
export class TlsReloader {
  private readonly files: string[];
  private readonly onChange = (): void => this.reload('file changed');

  constructor(
    private readonly tls: TlsConfig,
    private readonly servers: readonly ReloadableServer[],
    private readonly log: Logger,
    private readonly name: string,
  ) {
    this.files = [tls.cert, tls.key, ...(tls.ca === null ? [] : [tls.ca])];
    // watchFile polls stat rather than following an inode, so it sees a file replaced by rename
    // (how certificate tools install a renewal) as well as one rewritten in place.
    for (const file of this.files) watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, this.onChange);
  }

  reload(reason: string): void {
    let options: SecureContextOptions;
    try {
      options = secureContextOptions(this.tls);
      for (const server of this.servers) server.setSecureContext(options);
    } catch (err) {
      this.log.error('tls reload failed; the previous certificate stays in use', { listener: this.name, reason, err });
      return;
    }
    this.log.info('tls certificate reloaded', { listener: this.name, reason, cert: this.tls.cert });
  }

  close(): void {
    for (const file of this.files) unwatchFile(file, this.onChange);
  }
}

/**
 * A raw TLS client for handshake tests: connects with ALPN h2, sends the HTTP/2 preface, and
 * says whether the server answered (its SETTINGS frame) or hung up. Under TLS 1.3 a server
 * judges the client certificate after the client's handshake has completed, so only the
 * server's next move (data, or close) tells acceptance from refusal.
 */
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';

export interface ProbeOptions {
  port: number;
  ca: string;
  cert?: string;
  key?: string;
  maxVersion?: ConnectionOptions['maxVersion'];
}

export type ProbeResult = { accepted: true; serial: string } | { accepted: false; reason: string };

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export function tlsProbe(o: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port: o.port,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
      ca: readFileSync(o.ca),
      ...(o.cert === undefined ? {} : { cert: readFileSync(o.cert), key: readFileSync(o.key!) }),
      ...(o.maxVersion === undefined ? {} : { maxVersion: o.maxVersion }),
    });
    const done = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => socket.write(PREFACE));
    socket.once('data', () => done({ accepted: true, serial: socket.getPeerCertificate().serialNumber }));
    socket.once('error', (err) => done({ accepted: false, reason: (err as NodeJS.ErrnoException).code ?? err.message }));
    socket.once('close', () => done({ accepted: false, reason: 'closed after the handshake' }));
  });
}

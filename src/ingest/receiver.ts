/**
 * What the OTLP/HTTP and lines receivers share: their interface, and listening (node:http
 * and node:net servers share net.Server's listen) on an fd (a SO_REUSEPORT socket or one the
 * supervisor handed down), a Unix path (tests), or a host and port.
 */
import { chmod } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { ListenError } from '../common/errors';
import type { Logger } from '../common/log';
import { removeStaleSocket } from '../common/unix-socket';

export type ListenTarget = { fd: number } | { path: string } | { host: string; port: number };

export interface Receiver<Counters> {
  /** Plain numbers, read by the metrics endpoint; they only ever grow. */
  readonly counters: Counters;
  listen(target: ListenTarget): Promise<void>;
  /** Where it listens (the port chosen for port 0), as net.Server reports it. */
  address(): AddressInfo | string | null;
  /** New handshakes use this certificate and key (a reload); a plaintext receiver ignores it. */
  setSecureContext(secure: SecureContextOptions): void;
  /** Stops accepting, lets what is in flight finish within graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

export async function listenOn(server: Server, target: ListenTarget, log: Logger, what: string): Promise<void> {
  if ('path' in target) await removeStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new ListenError(`cannot listen on ${describeTarget(target)}: ${err.message}`, err));
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Accept errors (EMFILE and the like) arrive here; they must not kill the worker.
  server.on('error', (err) => log.error(`${what} server error`, { err }));
  if ('path' in target) await chmod(target.path, 0o660);
}

function describeTarget(target: ListenTarget): string {
  if ('fd' in target) return `fd ${target.fd}`;
  if ('path' in target) return `unix:${target.path}`;
  return `${target.host}:${target.port}`;
}

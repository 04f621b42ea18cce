/**
 * Listening, for every server the engine runs (node:net, node:http, node:http2 and node:tls
 * servers all share net.Server's listen): on an fd (a SO_REUSEPORT socket or one the
 * supervisor handed down), a Unix path, or a host and port. A failure to listen is a
 * ListenError naming the address; later errors (accept failing with EMFILE and the like) are
 * logged and must not stop the process.
 */
import { chmod } from 'node:fs/promises';
import type { Server } from 'node:net';
import { ListenError } from './errors';
import type { Logger } from './log';
import { removeStaleSocket } from './unix-socket';

export type ListenTarget = { fd: number } | { path: string } | { host: string; port: number };

/** `what` names the server in errors and logs ("otlp grpc", "control plane"). A Unix socket gets mode 0660. */
export async function listenOn(server: Server, target: ListenTarget, log: Logger, what: string): Promise<void> {
  if ('path' in target) await removeStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new ListenError(`cannot listen on ${describeTarget(target)} for ${what}: ${err.message}`, err));
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error(`${what} server error`, { err }));
  if ('path' in target) await chmod(target.path, 0o660);
}

function describeTarget(target: ListenTarget): string {
  if ('fd' in target) return `fd ${target.fd}`;
  if ('path' in target) return `unix:${target.path}`;
  return `${target.host}:${target.port}`;
}

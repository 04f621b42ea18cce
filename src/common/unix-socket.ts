/**
 * A socket file left by a crashed predecessor would make listen fail with EADDRINUSE. Only a
 * socket nobody accepts on is removed: never a regular file, never a live server's socket.
 */
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { ListenError } from './errors';

export async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new ListenError(`cannot listen on unix:${path}: ${err.message}`, err);
  });
  if (stat === undefined) return;
  if (!stat.isSocket()) throw new ListenError(`cannot listen on unix:${path}: the path exists and is not a socket; remove it or choose another path`);
  if (await acceptsConnections(path)) throw new ListenError(`cannot listen on unix:${path}: another process is listening there (another GopherShip on this data_dir?)`);
  await unlink(path);
}

function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

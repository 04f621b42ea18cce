/**
 * Listening Unix sockets are made once by the supervisor and handed to every ingest worker,
 * which all accept from the one queue (SO_REUSEPORT does not apply to Unix sockets). The
 * supervisor holds the fd across worker restarts, so the socket path never disappears.
 */
import { chmodSync, closeSync, unlinkSync } from 'node:fs';
import { makeDirs } from '../common/make-dirs';
import { dirname } from 'node:path';
import { formatListen, type Config } from '../common/config';
import { listenUnix } from '../common/native';
import { removeStaleSocket } from '../common/unix-socket';

export class UnixListeners {
  readonly fds = new Map<string, number>();
  private readonly paths: string[] = [];

  static async open(config: Config): Promise<UnixListeners> {
    const listeners = new UnixListeners();
    try {
      const { otlp_grpc, otlp_http, lines } = config.ingest;
      for (const addr of [...otlp_grpc.listen, ...otlp_http.listen, ...lines.listen]) {
        if (addr.kind !== 'unix') continue;
        makeDirs(dirname(addr.path), 0o700);
        await removeStaleSocket(addr.path);
        listeners.fds.set(formatListen(addr), listenUnix(addr.path));
        listeners.paths.push(addr.path);
        chmodSync(addr.path, 0o660);
      }
    } catch (err) {
      listeners.close();
      throw err;
    }
    return listeners;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    for (const path of this.paths) unlinkSync(path);
    this.fds.clear();
    this.paths.length = 0;
  }
}

/**
 * Before any ingest worker is forked: can the TCP addresses be bound at all? Workers bind
 * their own SO_REUSEPORT sockets, and one that cannot would only die and be restarted into
 * a crash loop, the engine never ready. A port held by another program (without
 * SO_REUSEPORT) is found here and stops the start with one clear error instead.
 */
import { closeSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { formatListen, type Config, type ListenAddress } from '../common/config';
import { ListenError } from '../common/errors';
import { listenReusePort } from '../common/native';

export async function probeIngestPorts(config: Config): Promise<void> {
  const { otlp_grpc, otlp_http, lines } = config.ingest;
  const sections: Array<[string, readonly ListenAddress[]]> = [
    ['ingest.otlp_grpc', otlp_grpc.listen],
    ['ingest.otlp_http', otlp_http.listen],
    ['ingest.lines', lines.listen],
  ];
  for (const [section, listen] of sections) {
    for (const addr of listen) {
      if (addr.kind !== 'tcp') continue;
      let fd: number;
      try {
        fd = listenReusePort((await lookup(addr.host)).address, addr.port);
      } catch (err) {
        throw new ListenError(`cannot listen on ${formatListen(addr)} (${section}.listen): ${(err as Error).message}; stop what holds it or choose another address`, err);
      }
      closeSync(fd);
    }
  }
}

/**
 * Before any ingest worker is forked: is every TCP address free? Workers bind their own
 * SO_REUSEPORT sockets, and the kernel lets any socket of the same uid with SO_REUSEPORT join
 * a port: a second engine with another data_dir would silently share it, each getting part
 * of the traffic. A port held by another program (without SO_REUSEPORT) would only make
 * the workers die into a crash loop. A bind without SO_REUSEPORT fails in both cases, so it
 * stops the start with one clear error naming the holder where /proc tells it.
 */
import { lookup } from 'node:dns/promises';
import { formatListen, type Config, type ListenAddress } from '../common/config';
import { ListenError } from '../common/errors';
import { probeBind } from '../common/native';
import { portHolder } from './port-holder';

export async function probeIngestPorts(config: Config): Promise<void> {
  const { otlp_grpc, otlp_http, lines } = config.ingest;
  const sections: Array<[string, readonly ListenAddress[]]> = [
    ['ingest.otlp_grpc', otlp_grpc.listen],
    ['ingest.otlp_http', otlp_http.listen],
    ['ingest.lines', lines.listen],
  ];
  for (const [section, listen] of sections) {
    for (const addr of listen) {
      // Port 0 asks each worker for a port of its own: there is nothing to collide with.
      if (addr.kind !== 'tcp' || addr.port === 0) continue;
      try {
        probeBind((await lookup(addr.host)).address, addr.port);
      } catch (err) {
        const holder = (err as { errno?: string }).errno === 'EADDRINUSE' ? portHolder(addr.port) : null;
        const held = holder === null ? '' : `; held by ${holder}`;
        throw new ListenError(`cannot listen on ${formatListen(addr)} (${section}.listen): ${(err as Error).message}${held}; stop what holds it or choose another address`, err);
      }
    }
  }
}

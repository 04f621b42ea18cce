/**
 * An ingest worker: accepts OTLP requests on its own SO_REUSEPORT sockets (and on the Unix
 * sockets the supervisor hands down) and copies each request, undecoded, into its green
 * ring. It never parses a payload; the exporters do that on the other side of the ring.
 */
import { lookup } from 'node:dns/promises';
import { formatListen, type ListenAddress } from '../common/config';
import { runChild } from '../common/child-runtime';
import { DoorbellSender, doorbellPath } from '../common/doorbell';
import { listenReusePort } from '../common/native';
import { attachRing } from '../common/ring';
import { greenRingPath } from '../common/ring-layout';
import { InflightBudget } from './inflight-budget';
import { createOtlpGrpcServer } from './otlp-grpc-server';

runChild(async ({ index, config, inheritedFds }, log) => {
  const ringPath = greenRingPath(config.rings.dir, index);
  const bell = new DoorbellSender(doorbellPath(ringPath));
  const sink = attachRing(ringPath).writer(() => bell.ring());
  const grpc = config.ingest.otlp_grpc;
  const inflight = new InflightBudget(config.ingest.max_inflight_bytes);
  const servers = await Promise.all(
    grpc.listen.map(async (addr) => {
      const server = createOtlpGrpcServer({
        sink,
        maxMessageBytes: config.ingest.max_message_bytes,
        maxConcurrentStreams: grpc.max_concurrent_streams,
        windowBytes: grpc.window_bytes,
        inflight,
        log,
      });
      await server.listen({ fd: await listeningFd(addr, inheritedFds) });
      return server;
    }),
  );
  log.info('ingest worker listening', { otlp_grpc: grpc.listen.map(formatListen), ring: ringPath });
  return {
    async close(graceMs) {
      await Promise.all(servers.map((s): Promise<void> => s.close(graceMs)));
      bell.close();
    },
  };
});

async function listeningFd(addr: ListenAddress, inherited: Record<string, number>): Promise<number> {
  if (addr.kind === 'unix') return inherited[formatListen(addr)];
  const { address } = await lookup(addr.host);
  return listenReusePort(address, addr.port);
}

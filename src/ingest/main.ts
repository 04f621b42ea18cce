/**
 * An ingest worker: accepts OTLP requests on its own SO_REUSEPORT sockets (and on the Unix
 * sockets the supervisor hands down) and copies each request, undecoded, into one of its
 * rings: green to the exporters, red to the vault. It never parses a payload.
 */
import { lookup } from 'node:dns/promises';
import { formatListen, type ListenAddress } from '../common/listen-address';
import { runChild } from '../common/child-runtime';
import { DoorbellSender, commitBellPath, doorbellPath } from '../common/doorbell';
import { listenReusePort } from '../common/native';
import { attachRing, type Ring, type RingWriter } from '../common/ring';
import { releaseIdleRings } from '../common/ring-release';
import { ringPath, type RingColor } from '../common/ring-layout';
import { CommitWaiter } from '../common/commit-waiter';
import { TlsReloader, tlsServerOptions, type ReloadableServer } from '../common/tls-context';
import type { TlsConfig } from '../common/tls-config';
import { InflightBudget } from './inflight-budget';
import { IngestMetrics } from './ingest-metrics';
import { createLinesServer } from './lines-server';
import { createOtlpGrpcServer } from './otlp-grpc-server';
import { createOtlpHttpServer } from './otlp-http-server';
import { jsonUnitBudget } from '../common/otlp-json-scan';
import { ZoneCell, zoneCellPath } from '../common/zone-cell';
import { observePivot } from './pivot-metrics';
import { ZoneRouter } from './zone-router';

runChild(async ({ index, config, inheritedFds }, log) => {
  const metrics = new IngestMetrics(config.metrics.refusing_window_ms);
  const bells: DoorbellSender[] = [];
  const writerFor = (color: RingColor, ring: Ring, path: string): RingWriter => {
    const bell = new DoorbellSender(doorbellPath(path));
    bells.push(bell);
    return metrics.writer(color, ring, () => bell.ring());
  };
  const greenPath = ringPath(config.rings.dir, 'green', index);
  const redPath = ringPath(config.rings.dir, 'red', index);
  const redRing = attachRing(redPath);
  const redCommits = config.vault.sync === 'always' ? new CommitWaiter(redRing, commitBellPath(redPath)) : undefined;
  const zone = new ZoneCell(zoneCellPath(config.rings.dir));
  const onPivot = (latencyNs: bigint): void => {
    observePivot(latencyNs);
    log.info('pivot to red reached ingest', { latencyUs: Number(latencyNs / 1000n) });
  };
  const greenWriter = writerFor('green', attachRing(greenPath), greenPath);
  const redWriter = writerFor('red', redRing, redPath);
  const sink = new ZoneRouter(greenWriter, redWriter, zone, onPivot, redCommits);
  const stopReleasing = releaseIdleRings(new Map([[greenPath, greenWriter], [redPath, redWriter]]), log);
  const grpc = config.ingest.otlp_grpc;
  const { max_connections: maxConnections } = config.ingest;
  // Every connection may hold the largest request, whichever receiver it came to.
  const inflight = new InflightBudget(config.ingest.max_inflight_bytes, Math.max(config.ingest.max_message_bytes, config.ingest.otlp_http.max_body_bytes));
  // TLS on the TCP listeners; a Unix socket is local, guarded by its file mode.
  const tls = grpc.tls === null ? undefined : tlsServerOptions(grpc.tls);
  metrics.setInflight(inflight);
  const servers = await Promise.all(
    grpc.listen.map(async (addr) => {
      const server = createOtlpGrpcServer({
        sink,
        maxMessageBytes: config.ingest.max_message_bytes,
        maxConcurrentStreams: grpc.max_concurrent_streams,
        windowBytes: grpc.window_bytes,
        streamIdleTimeoutMs: grpc.stream_idle_timeout_ms,
        streamTimeoutMs: grpc.stream_timeout_ms,
        maxConnections,
        inflight,
        log,
        tls: addr.kind === 'tcp' ? tls : undefined,
      });
      await server.listen({ fd: await listeningFd(addr, inheritedFds) });
      metrics.addServer('otlp_grpc', server);
      return server;
    }),
  );
  const { otlp_http: http, lines } = config.ingest;
  const httpTls = http.tls === null ? undefined : tlsServerOptions(http.tls, ['http/1.1']);
  const httpServers = await Promise.all(
    http.listen.map(async (addr) => {
      const server = createOtlpHttpServer({
        sink,
        maxBodyBytes: http.max_body_bytes,
        maxJsonUnits: jsonUnitBudget(config.export.max_heap_mib),
        inflight,
        idleTimeoutMs: http.idle_timeout_ms,
        requestTimeoutMs: http.request_timeout_ms,
        maxConnections,
        log,
        tls: addr.kind === 'tcp' ? httpTls : undefined,
      });
      await server.listen({ fd: await listeningFd(addr, inheritedFds) });
      metrics.addServer('otlp_http', server);
      return server;
    }),
  );
  const linesTls = lines.tls === null ? undefined : tlsServerOptions(lines.tls, []);
  const linesServers = await Promise.all(
    lines.listen.map(async (addr) => {
      const unixPath = addr.kind === 'unix' ? addr.path : undefined;
      const server = createLinesServer({
        sink,
        maxLineBytes: lines.max_line_bytes,
        longLines: lines.long_lines,
        idleTimeoutMs: lines.idle_timeout_ms,
        maxConnections,
        unixPath,
        log,
        tls: addr.kind === 'tcp' ? linesTls : undefined,
      });
      await server.listen({ fd: await listeningFd(addr, inheritedFds) });
      metrics.addLinesServer(server);
      return server;
    }),
  );
  log.info('ingest worker listening', {
    otlp_grpc: grpc.listen.map(formatListen),
    otlp_http: http.listen.map(formatListen),
    lines: lines.listen.map(formatListen),
    tls: { otlp_grpc: grpc.tls !== null, otlp_http: http.tls !== null, lines: lines.tls !== null },
    maxConnections,
    zone: zone.zone(),
  });
  const reloaders = [
    reloaderFor(grpc.tls, grpc.listen, servers, 'otlp_grpc'),
    reloaderFor(http.tls, http.listen, httpServers, 'otlp_http'),
    reloaderFor(lines.tls, lines.listen, linesServers, 'lines'),
  ].filter((r) => r !== undefined);
  function reloaderFor(tls: TlsConfig | null, listen: readonly ListenAddress[], of: readonly ReloadableServer[], name: string): TlsReloader | undefined {
    return tls === null ? undefined : new TlsReloader(tls, of.filter((_, i) => listen[i].kind === 'tcp'), log, name);
  }
  return {
    onMessage(msg) {
      if (msg.type === 'reload-tls') for (const r of reloaders) r.reload('SIGHUP');
    },
    async close(graceMs) {
      for (const r of reloaders) r.close();
      stopReleasing();
      await Promise.all([...servers, ...httpServers, ...linesServers].map((s): Promise<void> => s.close(graceMs)));
      for (const bell of bells) bell.close();
      redCommits?.close();
      metrics.close();
    },
  };
});

async function listeningFd(addr: ListenAddress, inherited: Record<string, number>): Promise<number> {
  if (addr.kind === 'unix') return inherited[formatListen(addr)];
  const { address } = await lookup(addr.host);
  return listenReusePort(address, addr.port);
}

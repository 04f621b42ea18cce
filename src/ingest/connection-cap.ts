/**
 * The connection cap of one ingest listener (ingest.max_connections): past it, a new
 * connection is closed as soon as it is accepted, before any TLS handshake or protocol state
 * exists for it, so a flood of idle connections costs the worker neither file descriptors
 * nor memory beyond the cap. node's net.Server does the closing (maxConnections) and says so
 * with 'drop'; every server we run (net, tls, http, https, http2) is one.
 *
 * A flood is logged at most once per LOG_INTERVAL_MS, with the count since the last line: a
 * line per refused connection would turn the flood into one on stderr.
 */
import type { Server } from 'node:net';
import type { Logger } from '../common/log';

const LOG_INTERVAL_MS = 10_000;

export interface ConnectionCounters {
  /** Connections closed on accept because the listener held max_connections already. */
  refused: number;
}

/** `maxConnections` undefined: no cap (a receiver run on its own, in tests and benches). */
export function capConnections(server: Server, maxConnections: number | undefined, log: Logger, what: string): ConnectionCounters {
  const counters: ConnectionCounters = { refused: 0 };
  if (maxConnections === undefined) return counters;
  let unlogged = 0;
  let lastLogMs = -Infinity;
  server.maxConnections = maxConnections;
  server.on('drop', () => {
    counters.refused++;
    unlogged++;
    const now = performance.now();
    if (now - lastLogMs < LOG_INTERVAL_MS) return;
    log.warn(`${what} connection refused: the listener holds ingest.max_connections`, { maxConnections, refused: unlogged });
    lastLogMs = now;
    unlogged = 0;
  });
  return counters;
}

/**
 * The supervisor's plaintext HTTP endpoint (metrics.listen, default 127.0.0.1:9464):
 *   GET /metrics  every process's series, aggregated (Prometheus text format)
 *   GET /healthz  200 while the supervisor's event loop runs: liveness only
 *   GET /readyz   200 when ready to take traffic, else 503 with the causes (health-readiness.ts)
 * Anything else is 404, and a method other than GET or HEAD is 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { listenOn } from '../common/listen-on';
import type { Logger } from '../common/log';
import type { Readiness } from './health-readiness';

export interface MetricsEndpoints {
  gather(): Promise<Registry>;
  readiness(): Promise<Readiness>;
}

const TEXT = 'text/plain; charset=utf-8';

export class MetricsServer {
  private constructor(private readonly server: Server) {}

  static async listen(host: string, port: number, endpoints: MetricsEndpoints, log: Logger): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      route(req, res, endpoints).catch((err: unknown) => {
        log.error('metrics endpoint failed', { err, path: req.url });
        if (!res.headersSent) reply(res, req, 500, TEXT, 'internal error\n');
        else res.destroy();
      });
    });
    // Probes and scrapes are short: an idle keep-alive connection need not live long.
    server.keepAliveTimeout = 5000;
    await listenOn(server, { host, port }, log, 'metrics');
    return new MetricsServer(server);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function route(req: IncomingMessage, res: ServerResponse, endpoints: MetricsEndpoints): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return reply(res, req, 404, TEXT, 'not found: try /metrics, /healthz or /readyz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, req, 405, TEXT, 'method not allowed\n');
  }
  if (path === '/healthz') return reply(res, req, 200, TEXT, 'ok\n');
  if (path === '/readyz') {
    const { ready, reasons } = await endpoints.readiness();
    return reply(res, req, ready ? 200 : 503, TEXT, ready ? 'ready\n' : `not ready\n${reasons.map((r) => `${r}\n`).join('')}`);
  }
  const merged = await endpoints.gather();
  reply(res, req, 200, merged.contentType, await merged.metrics());
}

function reply(res: ServerResponse, req: IncomingMessage, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

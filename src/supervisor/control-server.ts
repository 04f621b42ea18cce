/**
 * Serves the control plane (ControlService) with grpc-js over our own listeners:
 *
 * - a Unix socket (control.socket, mode 0660), where each accepted connection's peer is
 *   read with SO_PEERCRED before grpc-js sees it. A uid outside control.allowed_uids is
 *   handed to a server that answers every call PERMISSION_DENIED (and is logged with its
 *   uid and pid), so the caller learns why rather than seeing a dropped connection;
 * - optionally TCP (control.tcp), through a node:tls server with TLS 1.3 as the minimum and
 *   a client certificate verified against control.tcp.tls.ca. grpc-js's own TLS has no
 *   minimum-version setting, so it gets the decrypted socket with insecure credentials.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Config } from '../common/config';
import { CONTROL_SERVICE, type ControlMethod } from '../common/control-proto';
import { ControlDeniedError, ControlUnavailableError, InvalidArgumentError } from '../common/errors';
import { listenOn } from '../common/listen-on';
import type { Logger } from '../common/log';
import { makeDirs } from '../common/make-dirs';
import { peerCred } from '../common/native';
import { TlsReloader, tlsServerOptions } from '../common/tls-context';
import type { ControlService } from './control-service';

/** How long calls in flight (a drain's answer) may take once the server is closing. */
const CLOSE_GRACE_MS = 2000;

type Handlers = Record<ControlMethod, (request: Record<string, unknown>) => unknown>;

export class ControlServer {
  private readonly grpcServer = new grpc.Server();
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly listeners: Array<NetServer | TlsServer> = [];
  private readonly deniedServers = new Set<grpc.Server>();
  private reloader: TlsReloader | undefined;

  private constructor(
    private readonly config: Config,
    service: ControlService,
    private readonly log: Logger,
  ) {
    const handlers: Handlers = {
      GetStatus: () => service.status(),
      SetZone: (r) => service.setZone(String(r.mode)),
      StartReplay: () => service.startReplay(),
      GetReplay: () => service.getReplay(),
      StopReplay: () => service.stopReplay(),
      Drain: () => service.drain(),
    };
    this.grpcServer.addService(CONTROL_SERVICE, grpcHandlers(handlers));
    this.injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  static async open(config: Config, service: ControlService, log: Logger): Promise<ControlServer> {
    const server = new ControlServer(config, service, log);
    try {
      await server.listenUnix(config.control.socket);
      if (config.control.tcp !== null) await server.listenTls(config.control.tcp);
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** Reads the TCP listener's certificate and key again (SIGHUP). */
  reloadTls(): void {
    this.reloader?.reload('SIGHUP');
  }

  async close(): Promise<void> {
    this.reloader?.close();
    // Closing a Unix socket server removes its socket file (libuv unlinks it).
    for (const listener of this.listeners) listener.close();
    for (const denied of this.deniedServers) denied.forceShutdown();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, CLOSE_GRACE_MS).unref();
      this.grpcServer.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private async listenUnix(path: string): Promise<void> {
    makeDirs(dirname(path), 0o700);
    const server = createServer((socket) => this.acceptUnix(socket));
    await listenOn(server, { path }, this.log, 'the control plane');
    this.listeners.push(server);
  }

  private acceptUnix(socket: Socket): void {
    let peer: { pid: number; uid: number };
    try {
      peer = peerCred(socketFd(socket));
    } catch (err) {
      this.log.warn('control connection dropped: its peer could not be identified', { err });
      socket.destroy();
      return;
    }
    if (this.config.control.allowed_uids.includes(peer.uid)) {
      this.log.debug('control connection', { transport: 'unix', uid: peer.uid, peerPid: peer.pid });
      this.injector.injectConnection(socket);
      return;
    }
    this.log.warn('control connection refused: uid not in control.allowed_uids', { uid: peer.uid, peerPid: peer.pid, code: 'GS_CONTROL_DENIED' });
    this.deny(socket, new ControlDeniedError(`uid ${peer.uid} may not use the control plane (control.allowed_uids: ${this.config.control.allowed_uids.join(', ')})`));
  }

  /** One small server per refused connection, so that the refusal can name the caller's uid. */
  private deny(socket: Socket, reason: ControlDeniedError): void {
    const denied = new grpc.Server();
    const refuse = (): never => {
      throw reason;
    };
    denied.addService(CONTROL_SERVICE, grpcHandlers({ GetStatus: refuse, SetZone: refuse, StartReplay: refuse, GetReplay: refuse, StopReplay: refuse, Drain: refuse }));
    this.deniedServers.add(denied);
    socket.once('close', () => {
      this.deniedServers.delete(denied);
      denied.forceShutdown();
    });
    denied.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(socket);
  }

  private async listenTls(tcp: NonNullable<Config['control']['tcp']>): Promise<void> {
    const server = createTlsServer({ ...tlsServerOptions(tcp.tls), minVersion: 'TLSv1.3' });
    server.on('secureConnection', (socket: TLSSocket) => {
      this.log.debug('control connection', { transport: 'tls', remote: socket.remoteAddress, subject: socket.getPeerCertificate().subject?.CN });
      this.injector.injectConnection(socket);
    });
    server.on('tlsClientError', (err, socket) => {
      this.log.warn('control tls handshake refused', { remote: socket.remoteAddress, reason: err.message });
    });
    await listenOn(server, { host: tcp.listen.host, port: tcp.listen.port }, this.log, 'the control plane');
    this.listeners.push(server);
    this.reloader = new TlsReloader(tcp.tls, [server], this.log, 'control');
  }
}

// Node keeps a connected socket's descriptor on its private libuv handle; there is no public accessor.
function socketFd(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

function grpcHandlers(handlers: Handlers): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(handlers)) {
    impl[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (response) => callback(null, response),
          (err: unknown) => callback(toStatus(err)),
        );
    };
  }
  return impl;
}

function toStatus(err: unknown): Partial<grpc.ServiceError> {
  const message = (err as Error).message;
  if (err instanceof ControlDeniedError) return { code: grpc.status.PERMISSION_DENIED, details: `${err.code}: ${message}` };
  if (err instanceof ControlUnavailableError) return { code: grpc.status.FAILED_PRECONDITION, details: `${err.code}: ${message}` };
  if (err instanceof InvalidArgumentError) return { code: grpc.status.INVALID_ARGUMENT, details: `${err.code}: ${message}` };
  return { code: grpc.status.INTERNAL, details: message };
}

/**
 * Serves the control plane (ControlService) with grpc-js over our own listeners:
 *
 * - a Unix socket (control.socket, mode 0660), where each accepted connection's peer is
 *   read with SO_PEERCRED before grpc-js sees it. A uid outside control.allowed_uids is
 *   answered PERMISSION_DENIED, so the caller learns why rather than seeing a dropped
 *   connection. The answer is written straight on the socket (grpc-refusal.ts), no gRPC
 *   session, and only so many refused connections are answered at once: more are closed
 *   unanswered, so a flood of them allocates nothing that grows with it;
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
import type { ControlRefusals } from './control-refusals';
import type { ControlService } from './control-service';
import { refuseGrpcCall } from './grpc-refusal';

/** How long calls in flight (a drain's answer) may take once the server is closing. */
const CLOSE_GRACE_MS = 2000;
/** Refused connections answered at once; more are closed unanswered until some end. */
const MAX_DENIED_SESSIONS = 64;
/** How long a refused client may take to send its request before it is cut off. */
const DENIED_TIMEOUT_MS = 5000;

type Handlers = Record<ControlMethod, (request: Record<string, unknown>) => unknown>;

export class ControlServer {
  private readonly grpcServer = new grpc.Server();
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly listeners: Array<NetServer | TlsServer> = [];
  private deniedSessions = 0;
  /** The remote address of each raw TLS connection, for refusals after it hung up. */
  private readonly remotes = new WeakMap<Socket, string>();
  private reloader: TlsReloader | undefined;

  private constructor(
    private readonly config: Config,
    service: ControlService,
    private readonly log: Logger,
    private readonly refusals: ControlRefusals,
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

  static async open(config: Config, service: ControlService, log: Logger, refusals: ControlRefusals): Promise<ControlServer> {
    const server = new ControlServer(config, service, log, refusals);
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
    this.refusals.close();
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
      this.refusals.refused('peer_unknown', 'unknown', 'control connection dropped: its peer could not be identified', { err });
      socket.destroy();
      return;
    }
    if (this.config.control.allowed_uids.includes(peer.uid)) {
      this.log.debug('control connection', { transport: 'unix', uid: peer.uid, peerPid: peer.pid });
      this.injector.injectConnection(socket);
      return;
    }
    this.refusals.refused('uid', `uid ${peer.uid}`, 'control connection refused: uid not in control.allowed_uids', { uid: peer.uid, peerPid: peer.pid });
    this.deny(socket, peer.uid);
  }

  /** Answers the call PERMISSION_DENIED, naming the caller's uid, without a gRPC session. */
  private deny(socket: Socket, uid: number): void {
    if (this.deniedSessions >= MAX_DENIED_SESSIONS) {
      socket.destroy();
      return;
    }
    this.deniedSessions++;
    socket.once('close', () => this.deniedSessions--);
    const reason = new ControlDeniedError(`uid ${uid} may not use the control plane (control.allowed_uids: ${this.config.control.allowed_uids.join(', ')})`);
    refuseGrpcCall(socket, grpc.status.PERMISSION_DENIED, `${reason.code}: ${reason.message}`, DENIED_TIMEOUT_MS);
  }

  private async listenTls(tcp: NonNullable<Config['control']['tcp']>): Promise<void> {
    const server = createTlsServer({ ...tlsServerOptions(tcp.tls), minVersion: 'TLSv1.3' });
    server.on('secureConnection', (socket: TLSSocket) => {
      this.log.debug('control connection', { transport: 'tls', remote: socket.remoteAddress, subject: socket.getPeerCertificate().subject?.CN });
      this.injector.injectConnection(socket);
    });
    // A client that hangs up mid-handshake leaves no address on the TLS socket; its raw one had it.
    server.on('connection', (raw: Socket) => this.remotes.set(raw, raw.remoteAddress ?? 'unknown'));
    server.on('tlsClientError', (err, socket) => {
      const raw = (socket as unknown as { _parent?: Socket })._parent;
      const remote = socket.remoteAddress ?? (raw === undefined ? undefined : this.remotes.get(raw)) ?? 'unknown';
      this.refusals.refused('tls_handshake', remote, 'control tls handshake refused', { remote, reason: err.message });
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

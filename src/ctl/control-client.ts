/**
 * gs-ctl's side of the control plane: a grpc-js client on the engine's Unix socket or, with
 * --tls, on its mTLS TCP listener; failures become one-line reasons with gs-ctl's exit codes.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { resolve } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { CONTROL_SERVICE, type ControlMethod } from '../common/control-proto';

/** gs-ctl's exit codes, the same for every command (each --help repeats them). */
export const EXIT = {
  OK: 0,
  /** The engine answered but could not do it (no zone monitor, vault not running, draining). */
  FAILED: 1,
  USAGE: 2,
  /** No engine reached: no socket, connection refused, TLS handshake refused. */
  UNREACHABLE: 3,
  /** The engine refused this caller (uid not allowed, certificate not accepted). */
  DENIED: 4,
} as const;

export interface ControlTarget {
  /** `unix:PATH` or `HOST:PORT`. */
  addr: string;
  tls?: { cert: string; key: string; ca: string };
}

/** A failed call, ready to print: the reason and the exit code. */
export class CallFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const ControlClient = grpc.makeGenericClientConstructor(CONTROL_SERVICE, 'Control');

export class ControlConnection {
  private readonly client: grpc.Client;

  constructor(private readonly target: ControlTarget) {
    const creds =
      target.tls === undefined
        ? grpc.credentials.createInsecure()
        : grpc.credentials.createSsl(readFileSync(target.tls.ca), readFileSync(target.tls.key), readFileSync(target.tls.cert));
    this.client = new ControlClient(grpcTarget(target.addr), creds);
  }

  call<T>(method: ControlMethod, request: object, timeoutMs: number): Promise<T> {
    const deadline = new Date(Date.now() + timeoutMs);
    const fn = (this.client as unknown as Record<string, Function>)[method].bind(this.client);
    return new Promise<T>((resolvePromise, reject) => {
      fn(request, { deadline }, (err: grpc.ServiceError | null, response: T) => {
        if (err === null) resolvePromise(response);
        else if (err.code === grpc.status.UNAVAILABLE && !this.target.addr.startsWith('unix:')) {
          // grpc-js says only "Failed to connect": a connection of our own learns why.
          void diagnose(this.target).then((why) => reject(new CallFailure(`cannot reach the engine at ${this.target.addr}: ${why}`, EXIT.UNREACHABLE)));
        } else reject(this.failure(err));
      });
    });
  }

  close(): void {
    this.client.close();
  }

  private failure(err: grpc.ServiceError): CallFailure {
    const where = this.target.addr;
    switch (err.code) {
      case grpc.status.PERMISSION_DENIED:
      case grpc.status.UNAUTHENTICATED:
        return new CallFailure(`refused by ${where}: ${err.details}`, EXIT.DENIED);
      case grpc.status.UNAVAILABLE:
      case grpc.status.DEADLINE_EXCEEDED:
        return new CallFailure(`cannot reach the engine at ${where}: ${oneLine(err.details)}`, EXIT.UNREACHABLE);
      case grpc.status.UNIMPLEMENTED:
        return new CallFailure(`${where} does not serve the GopherShip control plane: ${err.details}`, EXIT.UNREACHABLE);
      default:
        return new CallFailure(err.details, EXIT.FAILED);
    }
  }
}

/** How long the diagnosing connection waits for the engine to hang up on it. */
const DIAGNOSE_MS = 2000;

/** Why a TCP connection fails, in one line: refused, handshake error, or hung up on after it. */
function diagnose(target: ControlTarget): Promise<string> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target.addr)!;
  const [host, port] = [m[1], Number(m[2])];
  return new Promise((done) => {
    const timer = setTimeout(() => finish(plain ? 'it does not answer as a plaintext gRPC server; the TCP control listener needs --tls, --cert, --key and --ca' : 'the TLS connection stays up but gRPC did not get through'), DIAGNOSE_MS);
    const plain = target.tls === undefined;
    const socket = plain
      ? connectTcp({ host, port })
      : connectTls({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ALPNProtocols: ['h2'], ca: readFileSync(target.tls!.ca), cert: readFileSync(target.tls!.cert), key: readFileSync(target.tls!.key) });
    function finish(why: string): void {
      clearTimeout(timer);
      socket.destroy();
      done(why);
    }
    socket.once('error', (err) => finish(`${(err as NodeJS.ErrnoException).code ?? 'error'}: ${oneLine(err.message)}`));
    socket.once('close', () => finish(plain ? 'the engine closed the connection (a TLS listener? add --tls, --cert, --key and --ca)' : 'the engine closed the connection after the TLS handshake: it did not accept this client certificate (signed by another CA, expired, or not for client use)'));
    // A TLS listener answers plaintext HTTP/2 with nothing readable; sending the preface makes it hang up.
    if (plain) socket.once('connect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  });
}

function grpcTarget(addr: string): string {
  return addr.startsWith('unix:') ? `unix:${resolve(addr.slice(5))}` : addr;
}

function oneLine(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/^No connection established\. Last error: (?:Error: )?/, '')
    .replace(/\.? ?Resolution note:.*$/, '')
    .trim();
}

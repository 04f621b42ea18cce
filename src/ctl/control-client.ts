/**
 * gs-ctl's side of the control plane: a grpc-js client on the engine's Unix socket or, with
 * --tls, on its mTLS TCP listener; failures become one-line reasons with gs-ctl's exit codes.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
        else reject(this.failure(err));
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
        return new CallFailure(`cannot reach the engine at ${where}: ${oneLine(err.details)}${this.target.tls === undefined && !where.startsWith('unix:') ? ' (a TCP control listener needs --tls)' : ''}`, EXIT.UNREACHABLE);
      case grpc.status.UNIMPLEMENTED:
        return new CallFailure(`${where} does not serve the GopherShip control plane: ${err.details}`, EXIT.UNREACHABLE);
      default:
        return new CallFailure(err.details, EXIT.FAILED);
    }
  }
}

function grpcTarget(addr: string): string {
  return addr.startsWith('unix:') ? `unix:${resolve(addr.slice(5))}` : addr;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

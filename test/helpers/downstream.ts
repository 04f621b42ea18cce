/**
 * Real downstream servers for the exporter tests: a node:http OTLP/HTTP endpoint and a
 * grpc-js OTLP/gRPC endpoint, each answering with whatever the test scripts, and recording
 * what arrived (decoded) and when.
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeLogsRequest, type OtlpLogsRequest } from '../../src/common/otlp-proto';

export interface Arrival {
  atMs: number;
  /** Decoded when it came as protobuf; null for an OTLP/JSON body (see `raw`). */
  request: OtlpLogsRequest;
  raw: Buffer;
  contentType: string;
}

export interface Downstream {
  port: number;
  arrivals: Arrival[];
  /** Resolves once `n` requests have arrived in all. */
  arrived(n: number): Promise<Arrival[]>;
  close(): Promise<void>;
}

type Waiter = { n: number; resolve: (a: Arrival[]) => void };

function recorder(): { arrivals: Arrival[]; add(raw: Buffer, contentType?: string): void; arrived(n: number): Promise<Arrival[]> } {
  const arrivals: Arrival[] = [];
  const waiters: Waiter[] = [];
  return {
    arrivals,
    add(raw, contentType = 'application/grpc') {
      const request = contentType.includes('json') ? (null as unknown as OtlpLogsRequest) : decodeLogsRequest(raw);
      arrivals.push({ atMs: performance.now(), request, raw, contentType });
      for (let i = waiters.length - 1; i >= 0; i--) if (arrivals.length >= waiters[i].n) waiters.splice(i, 1)[0].resolve(arrivals);
    },
    arrived(n) {
      return arrivals.length >= n ? Promise.resolve(arrivals) : new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** `answer(i)` is called for the i-th request (from 0) after its body is read and recorded. */
export async function httpDownstream(answer: (i: number, req: IncomingMessage, res: ServerResponse) => void): Promise<Downstream> {
  const r = recorder();
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      r.add(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body, req.headers['content-type']);
      answer(count++, req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    arrivals: r.arrivals,
    arrived: r.arrived,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export type GrpcAnswer = { error: Partial<grpc.StatusObject> } | { response: Buffer };

/** An OTLP/gRPC LogsService whose i-th Export call gets `answer(i)` (which may hold the answer back). */
export async function grpcDownstream(answer: (i: number) => GrpcAnswer | Promise<GrpcAnswer>, credentials = grpc.ServerCredentials.createInsecure()): Promise<Downstream> {
  const r = recorder();
  let count = 0;
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        r.add(call.request);
        void Promise.resolve(answer(count++)).then((a) => {
          if ('error' in a) callback(a.error as grpc.ServiceError);
          else callback(null, a.response);
        });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    arrivals: r.arrivals,
    arrived: r.arrived,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** test.id attributes of every log record, in arrival order. */
export function idsOf(arrivals: readonly Arrival[]): string[] {
  const ids: string[] = [];
  for (const { request } of arrivals) {
    for (const rl of request.resourceLogs) {
      for (const sl of rl.scopeLogs) {
        for (const rec of sl.logRecords) {
          const id = rec.attributes.find((a) => a.key === 'test.id')?.value?.stringValue;
          if (id !== undefined) ids.push(id);
        }
      }
    }
  }
  return ids;
}

/** A resource's attributes as key -> string value. */
export function resourceAttributes(request: OtlpLogsRequest, index = 0): Record<string, unknown> {
  const attributes: Record<string, unknown> = Object.create(null);
  for (const kv of request.resourceLogs[index]?.resource?.attributes ?? []) attributes[kv.key] = kv.value?.stringValue;
  return attributes;
}

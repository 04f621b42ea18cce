/**
 * A downstream OTLP/gRPC collector that accepts only so many records a second: it answers
 * each Export once the records before it have used up their share of time, as a gateway at
 * capacity does. It counts every record, and the records carrying a `test.id` attribute by
 * id, so that a run can tell exactly what arrived and how often.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeLogsRequest } from '../src/common/otlp-proto';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const ID_KEY = 'test.id';

export interface SlowSink {
  readonly port: number;
  /** Records received in all, and by test.id. */
  readonly received: { records: number; byId: Map<string, number> };
  /** Records a second from now on; Infinity answers at once. */
  setRate(recordsPerSecond: number): void;
  /** Resolves when every id is there (or rejects after timeoutMs with how many are missing). */
  allArrived(ids: Iterable<string>, timeoutMs: number): Promise<void>;
  /** Resolves once `records` records have arrived in all (or rejects after timeoutMs). */
  recordsReached(records: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSlowSink(recordsPerSecond: number): Promise<SlowSink> {
  let rate = recordsPerSecond;
  let freeAt = performance.now();
  const received = { records: 0, byId: new Map<string, number>() };
  /** Looked at after each request: `pending` ids still to come, and the total wanted. */
  const watchers: Array<{ pending: Set<string>; records: number; settle: () => void }> = [];
  const watch = (pending: Set<string>, records: number, timeoutMs: number): Promise<void> => {
    const done = (): boolean => pending.size === 0 && received.records >= records;
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const watcher = {
        pending,
        records,
        settle: () => {
          clearTimeout(timer);
          watchers.splice(watchers.indexOf(watcher), 1);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        watchers.splice(watchers.indexOf(watcher), 1);
        reject(new Error(`within ${timeoutMs} ms: ${pending.size} ids missing, ${received.records} of ${records} records`));
      }, timeoutMs);
      watchers.push(watcher);
    });
  };
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.register(
    EXPORT_PATH,
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      const request = decodeLogsRequest(call.request);
      let records = 0;
      for (const rl of request.resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const lr of sl.logRecords) {
            records++;
            const id = lr.attributes.find((a) => a.key === ID_KEY)?.value?.stringValue;
            if (id === undefined) continue;
            received.byId.set(id, (received.byId.get(id) ?? 0) + 1);
            for (const w of watchers) w.pending.delete(id);
          }
        }
      }
      received.records += records;
      for (const w of watchers.filter((w) => w.pending.size === 0 && received.records >= w.records)) w.settle();
      // The answer waits for this request's share of the sink's capacity.
      const now = performance.now();
      freeAt = Math.max(freeAt, now) + (rate === Infinity ? 0 : (records * 1000) / rate);
      setTimeout(() => done(null, Buffer.alloc(0)), Math.max(0, freeAt - now));
    },
    identity,
    identity,
    'unary',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    received,
    setRate(r) {
      rate = r;
      freeAt = performance.now();
    },
    allArrived: (ids, timeoutMs) => watch(new Set([...ids].filter((id) => !received.byId.has(id))), 0, timeoutMs),
    recordsReached: (records, timeoutMs) => watch(new Set(), records, timeoutMs),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

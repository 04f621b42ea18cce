/**
 * The receiver as real clients see it when all goes well: the OpenTelemetry SDK's exporter,
 * grpc-js with and without compression, over TCP, a Unix socket and an inherited fd.
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import test from 'ava';
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeLogsRequest } from '../src/common/otlp-proto';
import { RecordFlag, RecordKind } from '../src/common/record-kind';
import { createOtlpGrpcServer } from '../src/ingest/otlp-grpc-server';
import { CollectingSink, grpcExport, startServer, type CollectedRecord } from './fixtures/otlp-grpc-harness';

// The enum lives in a package we do not depend on directly; its values are these strings.
type Compression = NonNullable<NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>['compression']>;
const NO_COMPRESSION = 'none' as Compression;
const GZIP = 'gzip' as Compression;

/** Runs the SDK as an application would and returns the export results it saw. */
async function sdkSend(url: string, count: number, compression: Compression): Promise<number[]> {
  const exporter = new OTLPLogExporter({ url, compression });
  const resultCodes: number[] = [];
  const recording: LogRecordExporter = {
    export: (records, done) =>
      exporter.export(records, (result) => {
        resultCodes.push(result.code);
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-grpc-conformance' }),
    processors: [new BatchLogRecordProcessor({ exporter: recording, maxExportBatchSize: 100, maxQueueSize: 10_000, scheduledDelayMillis: 10 })],
  });
  const logger = provider.getLogger('conformance');
  for (let i = 0; i < count; i++) {
    logger.emit({ body: `record ${i}`, severityNumber: 9, severityText: 'INFO', attributes: { 'test.seq': i } });
  }
  await provider.forceFlush();
  await provider.shutdown();
  return resultCodes;
}

function decodedBodies(records: readonly CollectedRecord[]): string[] {
  const bodies: string[] = [];
  for (const record of records) {
    const payload = record.flags & RecordFlag.Gzip ? gunzipSync(record.payload) : record.payload;
    for (const resourceLogs of decodeLogsRequest(payload).resourceLogs) {
      for (const scopeLogs of resourceLogs.scopeLogs) {
        for (const log of scopeLogs.logRecords) bodies.push(log.body?.stringValue ?? '<no body>');
      }
    }
  }
  return bodies.sort();
}

function expectedBodies(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `record ${i}`).sort();
}

test('records sent by the OpenTelemetry SDK arrive undecoded and decode to exactly those records', async (t) => {
  const { server, sink, port } = await startServer();
  t.teardown(() => server.close(0));
  const codes = await sdkSend(`http://127.0.0.1:${port}`, 350, NO_COMPRESSION);
  t.true(codes.length >= 4, 'batches of at most 100 records');
  t.true(codes.every((code) => code === 0), 'every export reported OK');
  t.true(sink.records.every((r) => r.kind === RecordKind.OtlpGrpc && r.flags === 0));
  t.deepEqual(decodedBodies(sink.records), expectedBodies(350));
  t.is(server.counters.acceptedRequests, codes.length);
  t.is(server.counters.acceptedBytes, sink.records.reduce((n, r) => n + r.payload.length, 0));
});

test('gzip from the SDK is stored compressed and flagged, and inflates to the records', async (t) => {
  const { server, sink, port } = await startServer();
  t.teardown(() => server.close(0));
  const codes = await sdkSend(`http://127.0.0.1:${port}`, 120, GZIP);
  t.true(codes.length >= 2 && codes.every((code) => code === 0));
  t.true(sink.records.every((r) => r.flags === RecordFlag.Gzip));
  t.deepEqual(decodedBodies(sink.records), expectedBodies(120));
});

test('a unary call is answered OK with an empty response and the exact message is offered', async (t) => {
  const { server, sink, target } = await startServer();
  t.teardown(() => server.close(0));
  const message = randomBytes(1000);
  const { error, response } = await grpcExport(target, message);
  t.is(error, null);
  t.is(response?.length, 0, 'an empty ExportLogsServiceResponse');
  t.is(sink.records.length, 1);
  t.deepEqual(sink.records[0], { kind: RecordKind.OtlpGrpc, flags: 0, payload: message });
});

test('an empty request message is a valid export', async (t) => {
  const { server, sink, target } = await startServer();
  t.teardown(() => server.close(0));
  const { error } = await grpcExport(target, Buffer.alloc(0));
  t.is(error, null);
  t.deepEqual(sink.records[0]?.payload, Buffer.alloc(0));
});

test('a gzip-compressed grpc-js call arrives flagged Gzip and inflates to the original', async (t) => {
  const { server, sink, target } = await startServer();
  t.teardown(() => server.close(0));
  const message = Buffer.from('a compressible log line\n'.repeat(500));
  const { error } = await grpcExport(target, message, { channel: { 'grpc.default_compression_algorithm': 2 } });
  t.is(error, null);
  t.is(sink.records[0]?.flags, RecordFlag.Gzip);
  t.true(sink.records[0].payload.length < message.length, 'stored as sent, still compressed');
  t.deepEqual(gunzipSync(sink.records[0].payload), message);
});

test('a message spread over many DATA frames and windows is offered whole', async (t) => {
  // A small window forces many WINDOW_UPDATE round trips within one message.
  const { server, sink, target } = await startServer({ windowBytes: 65535, maxMessageBytes: 8 * 1024 * 1024 });
  t.teardown(() => server.close(0));
  const message = randomBytes(6 * 1024 * 1024);
  const { error } = await grpcExport(target, message);
  t.is(error, null);
  t.true(sink.records[0]?.payload.equals(message));
});

test('concurrent calls on one connection are each offered once', async (t) => {
  const { server, sink, target } = await startServer({ maxConcurrentStreams: 16 });
  t.teardown(() => server.close(0));
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const messages = Array.from({ length: 64 }, (_, i) => Buffer.concat([Buffer.from(`call ${i}:`), randomBytes(64 * 1024)]));
  const outcomes = await Promise.all(messages.map((m) => grpcExport(client, m)));
  t.true(outcomes.every((o) => o.error === null));
  const received = sink.records.map((r) => r.payload.toString('hex')).sort();
  t.deepEqual(received, messages.map((m) => m.toString('hex')).sort());
});

test('listening on a Unix socket replaces a stale socket file and serves grpc-js', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otlp-grpc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'otlp.sock');
  // A process that exits without closing its server leaves the socket file behind.
  execFileSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  t.true(statSync(path).isSocket());

  const sink = new CollectingSink();
  const server = createOtlpGrpcServer({ sink, maxMessageBytes: 1 << 20, maxConcurrentStreams: 10, windowBytes: 1 << 20 });
  t.teardown(() => server.close(0));
  await server.listen({ path });
  t.is(statSync(path).mode & 0o777, 0o660);
  const { error } = await grpcExport(`unix://${path}`, Buffer.from('over a unix socket'));
  t.is(error, null);
  t.deepEqual(sink.records[0]?.payload, Buffer.from('over a unix socket'));
});

test('listening on an inherited fd serves clients (how workers get SO_REUSEPORT sockets)', async (t) => {
  const listener = createServer().listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  // The child gets the socket as its fd 4 (0-2 stdio, 3 the IPC channel), as a worker would.
  const child = fork(join(__dirname, 'fixtures/otlp-grpc-fd-child.js'), ['4'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd] });
  t.teardown(() => child.kill());
  const [ready] = (await once(child, 'message')) as [string];
  t.is(ready, 'listening');
  listener.close();

  const { error } = await grpcExport(`127.0.0.1:${port}`, Buffer.from('via fd'));
  t.is(error, null);
  child.send('close');
  const [report] = (await once(child, 'message')) as [{ acceptedRequests: number; payloads: string[] }];
  t.deepEqual(report, { acceptedRequests: 1, payloads: ['via fd'] });
});

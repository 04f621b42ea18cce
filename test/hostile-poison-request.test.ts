import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { startEngine } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';
import { post } from './helpers/otlp-http';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const MiB = 1024 * 1024;
const identity = (b: Buffer): Buffer => b;

/**
 * resource_logs { scope_logs { log_records {} x records } }: valid OTLP, two bytes a record
 * on the wire (`12 00`). Decoded into objects it cost some forty bytes of heap a record, so
 * that 15.3 MiB of it (8 M records) killed an exporter capped at a 64 MiB heap.
 */
function emptyRecords(records: number): Buffer {
  const lenHeader = (field: number, length: number): Buffer => {
    const bytes = [field * 8 + 2];
    for (let v = length; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        bytes.push(v);
        break;
      }
      bytes.push((v % 128) | 0x80);
    }
    return Buffer.from(bytes);
  };
  const body = Buffer.alloc(records * 2, Buffer.from([0x12, 0x00]));
  const scopeLogs = Buffer.concat([lenHeader(2, body.length), body]);
  return Buffer.concat([lenHeader(1, scopeLogs.length), scopeLogs]);
}

/** Records a poison line holds when it came out whole: `{}` each, after the enrichment's resource. */
function emptyRecordsIn(line: Buffer): number {
  const head = line.indexOf('"logRecords":[');
  const tail = Buffer.from(']}]}]}');
  if (head < 0 || !line.subarray(line.length - tail.length).equals(tail)) return -1;
  const start = head + '"logRecords":['.length;
  const end = line.length - tail.length;
  for (let i = start; i < end; i += 3) {
    if (line[i] !== 0x7b || line[i + 1] !== 0x7d || (i + 2 < end && line[i + 2] !== 0x2c)) return -1;
  }
  return (end - start + 1) / 3;
}

/** test.id counts of the well-behaved client's lines, and the sizes of the huge lines, read without parsing them. */
function readOutput(path: string): { ids: Map<string, number>; emptyRecordLines: number[] } {
  const ids = new Map<string, number>();
  const emptyRecordLines: number[] = [];
  const data = readFileSync(path);
  for (let start = 0; start < data.length; ) {
    const end = data.indexOf(0x0a, start);
    const line = data.subarray(start, end);
    start = end + 1;
    if (line.length > MiB) {
      emptyRecordLines.push(emptyRecordsIn(line));
      continue;
    }
    const request = JSON.parse(line.toString('utf8')) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes?: Array<{ key: string; value: { stringValue?: string } }> }> }> }> };
    for (const rl of request.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords) {
          const id = r.attributes?.find((a) => a.key === 'test.id')?.value.stringValue;
          if (id !== undefined) ids.set(id, (ids.get(id) ?? 0) + 1);
        }
  }
  return { ids, emptyRecordLines };
}

test('8 M empty log records over gRPC and 20 MiB of them over OTLP/HTTP (gzip and not) are exported as JSON lines by an exporter with a 64 MiB heap, which never dies, and the well-behaved client loses nothing', async (t) => {
  const engine = await startEngine({
    export: { max_heap_mib: 64 },
    rings: { green_bytes: 64 * MiB, red_bytes: 64 * MiB },
    ingest: { max_message_bytes: 16 * MiB, otlp_http: { max_body_bytes: 20 * MiB } },
  });
  t.teardown(() => engine.cleanup());
  const output = engine.outputPath;
  // The file exporter is the only one: rotation would only move lines away from `output`.
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'before', 500), { delivered: 500, failed: 0 });

  const grpcPoison = emptyRecords(8_000_000);
  t.true(grpcPoison.length > 15 * MiB && grpcPoison.length < 16 * MiB, 'the 15.3 MiB request of the report');
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.makeUnaryRequest(EXPORT_PATH, identity, identity, grpcPoison, (err) => (err ? reject(err) : resolve())));
  client.close();

  // 20 MiB exactly: 10 bytes of headers and (20 MiB - 10) / 2 records.
  const httpRecords = (20 * MiB - 10) / 2;
  const httpPoison = emptyRecords(httpRecords);
  t.is(httpPoison.length, 20 * MiB);
  const plain = await post(engine.httpPort, '/v1/logs', { 'content-type': 'application/x-protobuf' }, httpPoison);
  t.is(plain.status, 200, 'accepted: the body is within ingest.otlp_http.max_body_bytes');
  const gzipped = await post(engine.httpPort, '/v1/logs', { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, gzipSync(httpPoison));
  t.is(gzipped.status, 200, 'accepted: it inflates to no more than the limit');

  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'after', 500), { delivered: 500, failed: 0 });
  // Stopping drains the rings through the exporter first.
  t.is(await engine.stop(), 0);

  t.false(engine.logs.some((l) => l.msg === 'child exited unexpectedly; restarting'), 'no child died');
  t.false(engine.logs.some((l) => l.msg === 'poison request moved to the dead-letter file'), 'valid OTLP is not dead-lettered');
  const { ids, emptyRecordLines } = readOutput(output);
  t.is(ids.size, 1000, 'every record of the well-behaved client');
  t.true([...ids.values()].every((n) => n === 1), 'each once');
  t.deepEqual(
    emptyRecordLines.sort((a, b) => a - b),
    [8_000_000, httpRecords, httpRecords],
    'each huge request is one line of {} records',
  );
});

test('2 M empty ResourceLogs in one 4 MiB request (each would be enriched and spliced) are dead-lettered, not the death of an exporter', async (t) => {
  const engine = await startEngine({ export: { max_heap_mib: 64 } });
  t.teardown(() => engine.cleanup());
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'before', 300), { delivered: 300, failed: 0 });
  // `0a 00` again and again: resource_logs {} two bytes each.
  const manyResources = Buffer.alloc(4 * MiB, Buffer.from([0x0a, 0x00]));
  for (const gzip of [false, true]) {
    const headers = { 'content-type': 'application/x-protobuf', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
    t.is((await post(engine.httpPort, '/v1/logs', headers, gzip ? gzipSync(manyResources) : manyResources)).status, 200);
  }
  const client = new grpc.Client(`127.0.0.1:${engine.grpcPort}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.makeUnaryRequest(EXPORT_PATH, identity, identity, manyResources, (err) => (err ? reject(err) : resolve())));
  client.close();
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'after', 300), { delivered: 300, failed: 0 });
  t.is(await engine.stop(), 0);

  t.false(engine.logs.some((l) => l.msg === 'child exited unexpectedly; restarting'), 'no child died');
  const deadLettered = engine.logs.filter((l) => l.msg === 'poison request moved to the dead-letter file');
  t.is(deadLettered.length, 3, 'each request is set aside as poison');
  t.true(deadLettered.every((l) => /ResourceLogs in one request/.test(JSON.stringify(l.err))), 'saying why');
  const { ids } = readOutput(engine.outputPath);
  t.is(ids.size, 600, 'every record of the well-behaved client');
  t.true([...ids.values()].every((n) => n === 1), 'each once');
});

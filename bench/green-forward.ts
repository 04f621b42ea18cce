/**
 * `npm run bench:green-stages`: where a forwarded request's time goes, stage by stage, in one
 * process, for the load generator's requests (B = 100 and 1000). Each stage is timed alone
 * over many repetitions (median of 5 trials):
 *
 *   walk        countLogRecords: the tag walk that sizes batches
 *   splice      ResourceSplicer.splicePieces with the default enrichment: pieces, no copy
 *   assemble    8 spliced requests copied into a fresh buffer (Buffer.concat) ...
 *   reuse       ... and into one reused buffer (what OtlpExporter does)
 *   grpc        grpc-js unary calls with the identity serializer to a no-op receiver
 *               process, 8 calls in flight, each of 8 merged client requests, over one
 *               connection and over two (the exporter's default `connections`)
 *   http2       the same calls by hand over node:http2 (5-byte gRPC prefix and the message
 *               written as they are, no copy into a fresh buffer): what a raw client would
 *               save over grpc-js, over one and two connections
 *
 * The end-to-end figure is `BENCH_TARGETS=baseline,green,red npm run bench`.
 */
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { validateConfig } from '../src/common/config';
import { countLogRecords } from '../src/common/otlp-wire-split';
import { resourceSplicer } from '../src/export/enrichment';
import { followLines, ROOT, spawnNode } from './child-io';
import { buildPayload } from './payload';
import { median, microsPerCall } from './report';

const MERGED = 8;
const TRIALS = 5;
const IN_FLIGHT = 8;
const METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** µs per call, median of TRIALS, with IN_FLIGHT calls of `one` out at a time. */
async function timeCalls(one: () => Promise<void>, calls: number): Promise<number> {
  const trials: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const start = process.hrtime.bigint();
    let sent = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < calls) {
          sent++;
          await one();
        }
      }),
    );
    trials.push(Number(process.hrtime.bigint() - start) / calls / 1000);
  }
  return median(trials);
}

function timeGrpc(clients: readonly grpc.Client[], request: Buffer, calls: number): Promise<number> {
  const identity = (b: Buffer): Buffer => b;
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) =>
      clients[next++ % clients.length].makeUnaryRequest(METHOD, identity, identity, request, (err) => (err ? reject(err) : resolve())),
    );
  return timeCalls(one, calls);
}

/** The same calls by hand: the gRPC length prefix and the message written as two chunks; each resolves on grpc-status 0. */
function timeRaw(sessions: readonly ClientHttp2Session[], request: Buffer, calls: number): Promise<number> {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(request.byteLength, 1);
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const stream = sessions[next++ % sessions.length].request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('trailers', (trailers) => (trailers['grpc-status'] === '0' ? resolve() : reject(new Error(`grpc-status ${String(trailers['grpc-status'])}`))));
      stream.on('error', reject);
      stream.resume();
      stream.write(prefix);
      stream.end(request);
    });
  return timeCalls(one, calls);
}

async function main(): Promise<void> {
  const receiver = spawnNode(join(ROOT, 'dist/bench/noop-receiver.js'), []);
  const port = await new Promise<number>((resolve) => followLines(receiver.stdout!, (line) => resolve((JSON.parse(line) as { port: number }).port)));
  const options = { 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };
  const clients = [0, 1].map(() => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options));
  // The exporter's HTTP/2 windows would matter as much as the framing: the receiver's are the engine's defaults.
  const sessions = [0, 1].map(() => connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 4 * 1024 * 1024 } }));
  for (const session of sessions) {
    await once(session, 'connect');
    session.setLocalWindowSize(16 * 1024 * 1024);
  }
  const splicer = resourceSplicer(validateConfig({}).enrich);
  try {
    console.log('| B | stage | µs per client request | ns per log record | logs/s on one core |');
    console.log('|---:|---|---:|---:|---:|');
    for (const batch of [100, 1000]) {
      const request = buildPayload(batch).frame.subarray(5);
      const repetitions = batch === 100 ? 20_000 : 2_000;
      const pieces: Uint8Array[] = [];
      const spliced = (): number => {
        pieces.length = 0;
        return splicer.splicePieces(request, pieces);
      };
      const merged: Uint8Array[] = [];
      let mergedBytes = 0;
      for (let i = 0; i < MERGED; i++) mergedBytes += splicer.splicePieces(request, merged);
      const reused = Buffer.allocUnsafeSlow(mergedBytes);
      const stages: Array<[string, number]> = [
        ['walk', microsPerCall(repetitions, () => countLogRecords(request))],
        ['splice', microsPerCall(repetitions, spliced)],
        ['assemble, fresh buffer', microsPerCall(repetitions / MERGED, () => Buffer.concat(merged, mergedBytes)) / MERGED],
        ['assemble, reused buffer', microsPerCall(repetitions / MERGED, () => {
          let at = 0;
          for (const piece of merged) {
            reused.set(piece, at);
            at += piece.byteLength;
          }
        }) / MERGED],
        ['grpc-js send, 1 connection', (await timeGrpc(clients.slice(0, 1), Buffer.concat(merged, mergedBytes), repetitions / MERGED / 4)) / MERGED],
        ['grpc-js send, 2 connections', (await timeGrpc(clients, Buffer.concat(merged, mergedBytes), repetitions / MERGED / 4)) / MERGED],
        ['node:http2 send, 1 connection', (await timeRaw(sessions.slice(0, 1), Buffer.concat(merged, mergedBytes), repetitions / MERGED / 4)) / MERGED],
        ['node:http2 send, 2 connections', (await timeRaw(sessions, Buffer.concat(merged, mergedBytes), repetitions / MERGED / 4)) / MERGED],
      ];
      for (const [stage, us] of stages) {
        console.log(`| ${batch} | ${stage} | ${us.toFixed(1)} | ${((us * 1000) / batch).toFixed(1)} | ${Math.round((batch / us) * 1e6).toLocaleString('en-US')} |`);
      }
    }
  } finally {
    for (const client of clients) client.close();
    for (const session of sessions) session.close();
    receiver.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

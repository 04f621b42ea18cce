/**
 * The baseline receiver: the engine's own OTLP/gRPC server (createOtlpGrpcServer, with the
 * engine's default limits, windows and in-flight byte budget) in ONE process, with a sink that accepts every
 * request without copying it anywhere. It is what HTTP/2 + gRPC framing alone costs in
 * Node; the engine adds the ring copy, its N workers, the exporter and the supervisor.
 *
 *   node dist/bench/noop-receiver.js            prints {"port":N} on stdout once listening
 *   node dist/bench/noop-receiver.js --count    the same, as the Green benchmark's downstream:
 *       counts requests, bytes and log records (a walk of tags, no decode), and prints
 *       {"requests","bytes","logs","cpu_s"} on stdout when it closes
 *
 * SIGTERM or SIGINT closes it.
 */
import { validateConfig } from '../src/common/config';
import { countLogRecords } from '../src/common/otlp-wire-split';
import type { RecordSink } from '../src/common/record-kind';
import { InflightBudget } from '../src/ingest/inflight-budget';
import { createOtlpGrpcServer } from '../src/ingest/otlp-grpc-server';

const CLOSE_GRACE_MS = 1000;

async function main(): Promise<void> {
  // The engine's defaults, so that the baseline differs from the engine only in the sink.
  const { ingest } = validateConfig({});
  const counted = { requests: 0, bytes: 0, logs: 0 };
  const counting: RecordSink = {
    offer(_kind, _flags, chunks, length) {
      counted.requests++;
      counted.bytes += length;
      counted.logs += countLogRecords(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length));
      return true;
    },
  };
  const count = process.argv.includes('--count');
  const sink: RecordSink = count ? counting : { offer: () => true };
  const server = createOtlpGrpcServer({
    sink,
    maxMessageBytes: ingest.max_message_bytes,
    maxConcurrentStreams: ingest.otlp_grpc.max_concurrent_streams,
    windowBytes: ingest.otlp_grpc.window_bytes,
    inflight: new InflightBudget(ingest.max_inflight_bytes),
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected listen address ${String(address)}`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close(CLOSE_GRACE_MS).then(
        () => {
          const cpu = process.cpuUsage();
          if (count) process.stdout.write(`${JSON.stringify({ ...counted, cpu_s: (cpu.user + cpu.system) / 1e6 })}\n`);
          process.exit(0);
        },
        () => process.exit(1),
      );
    });
  }
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`noop-receiver: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

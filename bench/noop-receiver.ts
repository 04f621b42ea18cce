/**
 * The baseline receiver: the engine's own OTLP/gRPC server (createOtlpGrpcServer, with the
 * engine's default limits, windows and in-flight byte budget) in ONE process, with a sink that accepts every
 * request without copying it anywhere. It is what HTTP/2 + gRPC framing alone costs in
 * Node; the engine adds the ring copy, its N workers, the exporter and the supervisor.
 *
 *   node dist/bench/noop-receiver.js    prints {"port":N} on stdout once listening
 *
 * SIGTERM or SIGINT closes it.
 */
import { validateConfig } from '../src/common/config';
import type { RecordSink } from '../src/common/record-kind';
import { InflightBudget } from '../src/ingest/inflight-budget';
import { createOtlpGrpcServer } from '../src/ingest/otlp-grpc-server';

const CLOSE_GRACE_MS = 1000;

async function main(): Promise<void> {
  // The engine's defaults, so that the baseline differs from the engine only in the sink.
  const { ingest } = validateConfig({});
  const sink: RecordSink = { offer: () => true };
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
      server.close(CLOSE_GRACE_MS).then(() => process.exit(0), () => process.exit(1));
    });
  }
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`noop-receiver: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

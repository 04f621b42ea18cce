/**
 * Log records in and out compare: what the SDK sends over gRPC, OTLP/HTTP protobuf and
 * OTLP/HTTP JSON is counted as received by the exporters, by path, and as sent by the
 * exporter; ingest counts the log records of the JSON bodies it scans whole, and requests
 * for all.
 */
import test from 'ava';
import { startEngine } from './helpers/engine';
import { scrapeUntil, valueOf } from './helpers/metrics';
import { sdkSender } from './helpers/otel-sdk';
import { httpSdkSender } from './helpers/otlp-http';

const PER_CLIENT = 300;
const BATCH = 100;

test('records in (by path, and JSON at ingest) and records out are counted in log records', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());

  const senders = [sdkSender(`http://127.0.0.1:${engine.grpcPort}`, BATCH), httpSdkSender(engine.httpPort, 'proto', { batchSize: BATCH }), httpSdkSender(engine.httpPort, 'json', { batchSize: BATCH })];
  for (const [n, sender] of senders.entries()) for (let i = 0; i < PER_CLIENT; i++) sender.emit(`c${n}-${i}`);
  for (const sender of senders) {
    t.is((await sender.flush()).delivered, PER_CLIENT);
    await sender.shutdown();
  }
  const total = senders.length * PER_CLIENT;

  const s = await scrapeUntil(engine.metricsPort, (x) => valueOf(x, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }) === total);
  t.is(valueOf(s, 'gophership_export_received_log_records_total', { path: 'green' }), total, 'every log record in, counted once');
  t.is(valueOf(s, 'gophership_export_received_log_records_total', { path: 'replay' }), 0, 'served at 0 before any replay');
  t.is(valueOf(s, 'gophership_ingest_accepted_json_log_records_total'), PER_CLIENT, 'the JSON body check counts its log records');
  const requests = (protocol: string): number => valueOf(s, 'gophership_ingest_accepted_requests_total', { protocol }) ?? 0;
  t.true(requests('otlp_grpc') >= PER_CLIENT / BATCH && requests('otlp_grpc') < PER_CLIENT, 'gRPC requests are requests, not log records');
  t.true(requests('otlp_http') >= (2 * PER_CLIENT) / BATCH && requests('otlp_http') < 2 * PER_CLIENT);
});

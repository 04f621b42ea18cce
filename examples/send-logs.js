// Sends COUNT log records through the OpenTelemetry JS SDK's OTLP/gRPC exporter, as an
// application would, and prints how many the engine acknowledged.
//
//   node examples/send-logs.js [COUNT] [ID_PREFIX]
//
// Each record carries the attribute tutorial.id = ID_PREFIX-N (N from 0), and only there, so
// that counting the ids in the output file counts the records. The endpoint is
// http://127.0.0.1:4317 unless OTEL_EXPORTER_OTLP_ENDPOINT says otherwise.
'use strict';
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const count = Number(process.argv[2] ?? 1000);
const prefix = process.argv[3] ?? 'tutorial';
if (!Number.isInteger(count) || count < 1) {
  console.error(`send-logs: COUNT must be a positive integer, not ${process.argv[2]}`);
  process.exit(2);
}
const url = process.env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://127.0.0.1:4317';

const exporter = new OTLPLogExporter({ url });
let delivered = 0;
let failed = 0;
let lastError;
// The SDK reports each batch's outcome only to the processor: count it on the way through.
const counting = {
  export(records, done) {
    exporter.export(records, (result) => {
      if (result.code === 0) delivered += records.length;
      else {
        failed += records.length;
        lastError = result.error;
      }
      done(result);
    });
  },
  forceFlush: () => exporter.forceFlush(),
  shutdown: () => exporter.shutdown(),
};

const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'gophership-tutorial' }),
  // The queue holds the whole run, so the SDK drops nothing before it is sent.
  processors: [new BatchLogRecordProcessor({ exporter: counting, maxQueueSize: Math.max(count, 2048), scheduledDelayMillis: 100 })],
});
const logger = provider.getLogger('send-logs');
for (let i = 0; i < count; i++) {
  const id = `${prefix}-${i}`;
  logger.emit({ body: 'hello, GopherShip', severityNumber: 9, severityText: 'INFO', attributes: { 'tutorial.id': id } });
}

provider.shutdown().then(() => {
  console.log(`delivered ${delivered} of ${count} records to ${url}`);
  if (failed > 0) {
    console.error(`send-logs: ${failed} records failed: ${lastError?.message ?? 'no reason given'}`);
    process.exit(1);
  }
});

// A stand-in application for the compose demo: emits LOGS_PER_SECOND log records to
// OTLP_ENDPOINT with the OpenTelemetry JS SDK, as any instrumented service would.
'use strict';
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BatchLogRecordProcessor, LoggerProvider } = require('@opentelemetry/sdk-logs');

const endpoint = process.env.OTLP_ENDPOINT ?? 'http://127.0.0.1:4317';
const perSecond = Number(process.env.LOGS_PER_SECOND ?? '100');
if (!Number.isFinite(perSecond) || perSecond <= 0) {
  console.error(`LOGS_PER_SECOND must be a positive number, got ${process.env.LOGS_PER_SECOND}`);
  process.exit(2);
}

const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'log-producer' }),
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoint }), scheduledDelayMillis: 200 })],
});
const logger = provider.getLogger('log-producer');

const routes = ['/', '/cart', '/checkout', '/search'];
let n = 0;
// Ten ticks a second: the rate holds without a timer per record.
const timer = setInterval(() => {
  for (let i = 0; i < perSecond / 10; i++, n++) {
    const slow = n % 50 === 0;
    logger.emit({
      severityNumber: slow ? 13 : 9,
      severityText: slow ? 'WARN' : 'INFO',
      body: slow ? 'request was slow' : 'request served',
      attributes: { 'http.route': routes[n % routes.length], 'http.response.status_code': 200, 'log.sequence': n },
    });
  }
}, 100);

function stop() {
  clearInterval(timer);
  provider.shutdown().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`sending ${perSecond} log records a second to ${endpoint}`);

/**
 * The reference client: the OpenTelemetry JS SDK with its OTLP gRPC exporter, exactly as an
 * application would use it, plus a count of what the exporter reported as delivered.
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

export interface SendResult {
  delivered: number;
  failed: number;
}

export interface SdkSender {
  emit(id: string): void;
  /** Flushes everything emitted so far; resolves with the running delivery counts. */
  flush(): Promise<SendResult>;
  shutdown(): Promise<void>;
}

export function sdkSender(url: string, batchSize = 1000): SdkSender {
  const exporter = new OTLPLogExporter({
    url,
    ...(url.startsWith('unix:') ? { credentials: grpc.credentials.createInsecure() } : {}),
  });
  return sdkSenderWith(exporter, batchSize);
}

/** The same with any SDK log exporter (the OTLP/HTTP ones, for instance). */
export function sdkSenderWith(exporter: LogRecordExporter, batchSize = 1000): SdkSender {
  const result: SendResult = { delivered: 0, failed: 0 };
  const counting: LogRecordExporter = {
    export(records: ReadableLogRecord[], done) {
      exporter.export(records, (r) => {
        if (r.code === 0) result.delivered += records.length;
        else result.failed += records.length;
        done(r);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'gophership-test' }),
    processors: [new BatchLogRecordProcessor({ exporter: counting, maxExportBatchSize: batchSize, maxQueueSize: 1_000_000, scheduledDelayMillis: 50 })],
  });
  const logger = provider.getLogger('gophership-test');
  return {
    emit(id) {
      logger.emit({ body: `record ${id}`, severityNumber: 9, severityText: 'INFO', attributes: { 'test.id': id } });
    },
    async flush() {
      await provider.forceFlush();
      return { ...result };
    },
    shutdown: () => provider.shutdown(),
  };
}

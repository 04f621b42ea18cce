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
  /** The test.id of every record the exporter reported as delivered. */
  readonly deliveredIds: Set<string>;
  /** Failed exports by the gRPC status code the exporter reported ("none" without one). */
  readonly failuresByCode: Map<string, number>;
  /** Flushes everything emitted so far; resolves with the running delivery counts. */
  flush(): Promise<SendResult>;
  shutdown(): Promise<void>;
}

/** `credentials`: for TLS, e.g. grpc.credentials.createSsl(ca, key, cert) for mTLS. */
export function sdkSender(url: string, batchSize = 1000, credentials?: grpc.ChannelCredentials): SdkSender {
  const exporter = new OTLPLogExporter({
    url,
    ...(credentials !== undefined ? { credentials } : url.startsWith('unix:') ? { credentials: grpc.credentials.createInsecure() } : {}),
  });
  return sdkSenderWith(exporter, batchSize);
}

/** The same with any SDK log exporter (the OTLP/HTTP ones, for instance). */
export function sdkSenderWith(exporter: LogRecordExporter, batchSize = 1000): SdkSender {
  const result: SendResult = { delivered: 0, failed: 0 };
  const deliveredIds = new Set<string>();
  const failuresByCode = new Map<string, number>();
  const counting: LogRecordExporter = {
    export(records: ReadableLogRecord[], done) {
      exporter.export(records, (r) => {
        if (r.code === 0) {
          result.delivered += records.length;
          for (const rec of records) deliveredIds.add(String(rec.attributes['test.id']));
        } else {
          result.failed += records.length;
          const code = String((r.error as { code?: unknown } | undefined)?.code ?? 'none');
          failuresByCode.set(code, (failuresByCode.get(code) ?? 0) + 1);
        }
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
    deliveredIds,
    failuresByCode,
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

/**
 * Sends `total` records with test.ids `${prefix}-0` to `${prefix}-${total - 1}`, flushes, and
 * shuts the sender down; resolves with what the exporter reported at the flush.
 */
export async function sendRecords(url: string, prefix: string, total: number, options: { batchSize?: number; credentials?: grpc.ChannelCredentials } = {}): Promise<SendResult> {
  const sender = sdkSender(url, options.batchSize, options.credentials);
  for (let i = 0; i < total; i++) sender.emit(`${prefix}-${i}`);
  const result = await sender.flush();
  await sender.shutdown();
  return result;
}

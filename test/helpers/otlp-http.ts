/** OTLP/HTTP clients for tests: the SDK's exporters, and a plain POST for hand-made bodies. */
import { request } from 'node:http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import type { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { sdkSenderWith, type SdkSender } from './otel-sdk';

export type HttpEncoding = 'proto' | 'json';

/** The OpenTelemetry JS SDK sending to our OTLP/HTTP receiver, as an application would. */
export function httpSdkSender(port: number, encoding: HttpEncoding, options: { gzip?: boolean; batchSize?: number } = {}): SdkSender {
  const config = {
    url: `http://127.0.0.1:${port}/v1/logs`,
    ...(options.gzip ? { compression: 'gzip' as CompressionAlgorithm } : {}),
  };
  return sdkSenderWith(encoding === 'proto' ? new ProtoExporter(config) : new JsonExporter(config), options.batchSize);
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with exactly these headers and body; resolves with whatever the server answered. */
export function post(port: number, path: string, headers: Record<string, string>, body: Buffer | string, method = 'POST'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    // The server may answer and close before the whole body is sent (413): that answer counts.
    req.on('error', reject);
    req.end(body);
  });
}

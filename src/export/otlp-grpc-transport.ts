/**
 * OTLP/gRPC to the downstream with @grpc/grpc-js, forwarding request bytes as they are:
 * the method is called with identity (de)serializers, so no message object is built on
 * either side of the call. Over TCP (plaintext or TLS 1.3, with a client certificate for
 * mTLS) or a Unix socket.
 */
import * as grpc from '@grpc/grpc-js';
import { createSecureContext } from 'node:tls';
import type { OtlpGrpcExporterConfig } from '../common/config';
import { formatListen } from '../common/listen-address';
import { ExportRejectedError, ExportUnavailableError } from '../common/errors';
import { ExportLogsServiceResponse } from '../common/otlp-proto';
import type { ExportAck, Transport } from './otlp-exporter';
import { grpcRetryable, retryInfoDelayMs } from './retry-policy';
import { readTlsFiles } from './tls-files';

const METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const GZIP = 2;

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
const identity = (bytes: Buffer): Buffer => bytes;

export class OtlpGrpcTransport implements Transport {
  /** One per connection: grpc-js multiplexes a client's calls over a single HTTP/2 connection. */
  private readonly clients: grpc.Client[];
  private nextClient = 0;
  private readonly metadata: grpc.Metadata;

  constructor(
    private readonly config: OtlpGrpcExporterConfig,
    name: string,
  ) {
    const { endpoint, tls } = config;
    const target = endpoint.kind === 'unix' ? `unix:${endpoint.path}` : formatListen(endpoint);
    const options: grpc.ChannelOptions = {
      'grpc.max_send_message_length': config.max_message_bytes,
      'grpc.default_compression_algorithm': config.compression === 'gzip' ? GZIP : 0,
      // Retries are ours (with the OTLP table and RetryInfo); grpc-js's own would double them.
      'grpc.enable_retries': 0,
      // Without it, clients with equal options share one connection.
      'grpc.use_local_subchannel_pool': 1,
    };
    let credentials = grpc.credentials.createInsecure();
    if (tls !== null) {
      const files = readTlsFiles(tls, name);
      credentials = grpc.credentials.createFromSecureContext(createSecureContext({ minVersion: 'TLSv1.3', ...files }));
      if (tls.server_name !== null) options['grpc.ssl_target_name_override'] = tls.server_name;
    }
    this.clients = Array.from({ length: config.connections }, () => new grpc.Client(target, credentials, options));
    this.metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(config.headers)) this.metadata.set(key, value);
  }

  /** grpc-js compresses by itself (the channel's compression option). */
  body(request: Uint8Array): Uint8Array {
    return request;
  }

  send(request: Uint8Array, signal: AbortSignal): Promise<ExportAck> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const client = this.clients[this.nextClient++ % this.clients.length];
      const call = client.makeUnaryRequest<Buffer, Buffer>(
        METHOD,
        identity,
        identity,
        asBuffer(request),
        this.metadata.clone(),
        { deadline: Date.now() + this.config.timeout_ms },
        (err, response) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) reject(signal.reason);
          else if (err) reject(classify(err));
          else resolve(acknowledgement(response!));
        },
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
  }
}

function classify(err: grpc.ServiceError): Error {
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  const delay = retryInfoDelayMs(Buffer.isBuffer(details) ? details : undefined);
  const message = `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details}`;
  return grpcRetryable(err.code, delay) ? new ExportUnavailableError(message, delay) : new ExportRejectedError(message);
}

/** The partial success in a serialized ExportLogsServiceResponse (an unreadable one says nothing was refused). */
export function acknowledgement(response: Uint8Array): ExportAck {
  let partial: { rejectedLogRecords: number | { toNumber(): number }; errorMessage: string } | null;
  try {
    partial = (ExportLogsServiceResponse.decode(response) as unknown as { partialSuccess: typeof partial }).partialSuccess;
  } catch {
    partial = null;
  }
  if (partial === null) return { rejectedLogRecords: 0, errorMessage: '' };
  const rejected = typeof partial.rejectedLogRecords === 'number' ? partial.rejectedLogRecords : partial.rejectedLogRecords.toNumber();
  return { rejectedLogRecords: rejected, errorMessage: partial.errorMessage };
}

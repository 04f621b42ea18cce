/**
 * OTLP/HTTP to the downstream with undici: POST of the request as binary protobuf (the
 * bytes as they are) or as OTLP/JSON (decoded and written out), optionally gzipped.
 */
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import type { OtlpHttpExporterConfig } from '../common/config';
import { ExportRejectedError, ExportUnavailableError, PoisonRecordError } from '../common/errors';
import { Status } from '../common/otlp-proto';
import { acknowledgement } from './otlp-grpc-transport';
import type { ExportAck, Transport } from './otlp-exporter';
import { JsonBytes } from './json-bytes';
import { OtlpJsonTranscoder } from './otlp-json-transcoder';
import { httpRetryable, retryAfterMs } from './retry-policy';
import { readTlsFiles } from './tls-files';

/** An error body is only for the log line and the dead-letter reason. */
const MAX_ERROR_TEXT = 512;

export class OtlpHttpTransport implements Transport {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: OtlpHttpExporterConfig,
    name: string,
  ) {
    const url = new URL(config.endpoint);
    this.path = `${url.pathname}${url.search}`;
    const tls = config.tls === null ? undefined : { minVersion: 'TLSv1.3' as const, ...readTlsFiles(config.tls, name), ...(config.tls.server_name === null ? {} : { servername: config.tls.server_name }) };
    this.pool = new Pool(url.origin, { connections: config.connections, headersTimeout: config.timeout_ms, bodyTimeout: config.timeout_ms, connect: tls });
    this.headers = {
      ...config.headers,
      'content-type': config.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      ...(config.compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  body(request: Uint8Array): Uint8Array {
    const body: Uint8Array = this.config.encoding === 'json' ? toJson(request) : request;
    return this.config.compression === 'gzip' ? gzipSync(body) : body;
  }

  async send(body: Uint8Array, signal: AbortSignal): Promise<ExportAck> {
    let status: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let text: Buffer;
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers, body, signal });
      status = response.statusCode;
      responseHeaders = response.headers;
      text = Buffer.from(await response.body.arrayBuffer());
    } catch (err) {
      // Refused, reset, timed out: the downstream may not have the request; send it again.
      signal.throwIfAborted();
      throw new ExportUnavailableError(`POST ${this.config.endpoint}: ${(err as Error).message}`);
    }
    if (status >= 200 && status < 300) return this.acknowledgement(text);
    const message = `HTTP ${status} from ${this.config.endpoint}: ${this.errorText(text, responseHeaders['content-type'])}`;
    if (httpRetryable(status)) throw new ExportUnavailableError(message, retryAfterMs(responseHeaders['retry-after']));
    throw new ExportRejectedError(message);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private acknowledgement(body: Buffer): ExportAck {
    if (this.config.encoding === 'protobuf') return acknowledgement(body);
    try {
      const partial = (JSON.parse(body.toString('utf8')) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } }).partialSuccess;
      return { rejectedLogRecords: Number(partial?.rejectedLogRecords ?? 0) || 0, errorMessage: partial?.errorMessage ?? '' };
    } catch {
      return { rejectedLogRecords: 0, errorMessage: '' };
    }
  }

  // The specification's error body is a google.rpc.Status, in the request's encoding.
  private errorText(body: Buffer, contentType: string | string[] | undefined): string {
    const type = String(contentType ?? '');
    try {
      if (type.includes('protobuf')) return (Status.decode(body) as unknown as { message: string }).message.slice(0, MAX_ERROR_TEXT);
    } catch {
      // Not a Status after all: show it as text.
    }
    return body.toString('utf8', 0, Math.min(body.length, MAX_ERROR_TEXT));
  }
}

const transcoder = new OtlpJsonTranscoder();
const json = new JsonBytes();

/** A copy: the body outlives the next request's transcoding (retries, several connections). */
function toJson(request: Uint8Array): Buffer {
  json.reset();
  try {
    transcoder.write(request, json);
    return Buffer.from(json.view());
  } catch (err) {
    if (err instanceof PoisonRecordError) throw new ExportRejectedError(`cannot be written as OTLP/JSON: ${err.message}`);
    throw err;
  }
}

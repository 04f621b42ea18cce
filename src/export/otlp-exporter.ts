/**
 * The OTLP exporters' common part: groups a batch's serialized requests into downstream
 * requests (merged by concatenation up to batch.max_records and batch.max_bytes, cut at
 * max_message_bytes), and delivers each one through its transport, retrying what the
 * retry policy says is retryable until the downstream acknowledges it.
 *
 * Retrying holds nothing but the request in hand: the batch it came from stays in the ring
 * (the ring's head waits for this export to resolve), so an outage backs the ring up
 * instead of growing a queue here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OtlpGrpcExporterConfig, OtlpHttpExporterConfig } from '../common/config';
import { ExportRejectedError, ExportTooLargeError, ExportUnavailableError } from '../common/errors';
import type { Logger } from '../common/log';
import { countLogRecords, splitRequest } from '../common/otlp-wire-split';
import { countsOf } from './export-metrics';
import { contiguous, type DeadLetterRequest, type ExportBatch, type Exporter, type PreparedRequest } from './exporter';
import { backoffMs } from './retry-policy';
import { SendBuffers } from './send-buffers';

export interface ExportAck {
  /** From the response's partial_success; 0 when everything was accepted. */
  readonly rejectedLogRecords: number;
  readonly errorMessage: string;
}

/**
 * Sends one serialized ExportLogsServiceRequest. Resolves with the downstream's answer;
 * rejects with ExportUnavailableError (retry) or ExportRejectedError (never retry), or with
 * the signal's reason once it aborts.
 */
export interface Transport {
  /** What goes on the wire for a serialized request: made once per request, not per attempt. */
  body(request: Uint8Array): Uint8Array;
  send(body: Uint8Array, signal: AbortSignal): Promise<ExportAck>;
  close(): Promise<void>;
}

/** A downstream request and the batch requests it is made of. */
interface Group {
  parts: PreparedRequest[];
  logRecords: number;
  bytes: number;
}

/** While a downstream stays away, how often its retries are logged. */
const RETRY_LOG_EVERY_MS = 10_000;

export class OtlpExporter implements Exporter {
  readonly writesJson = false;
  /** Date.now() of the first failure of the current outage; 0 when the downstream answers. */
  private failingSince = 0;
  private lastRetryLog = 0;
  private readonly buffers: SendBuffers;

  constructor(
    readonly name: string,
    private readonly config: OtlpGrpcExporterConfig | OtlpHttpExporterConfig,
    private readonly transport: Transport,
    private readonly deadLetter: DeadLetterRequest,
    private readonly log: Logger,
  ) {
    this.buffers = new SendBuffers(config.batch.max_bytes);
  }

  /**
   * Up to max_in_flight downstream requests at once; resolves when all are delivered. On the
   * first failure the other senders are stopped and waited for before it is thrown: their
   * requests are views of the ring, which the caller may reuse once this settles, and the
   * whole batch is retried anyway.
   */
  async export(batch: ExportBatch, signal: AbortSignal): Promise<void> {
    const groups = [...this.groups(batch)];
    const stop = new AbortController();
    const senderSignal = AbortSignal.any([signal, stop.signal]);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const sender = async (): Promise<void> => {
      try {
        while (next < groups.length) await this.deliver(groups[next++], batch.source, senderSignal);
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.max_in_flight, groups.length) }, sender));
    if (failure !== undefined) throw failure.error;
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private *groups(batch: ExportBatch): Generator<Group> {
    const { max_records: maxRecords, max_bytes: maxBytes } = this.config.batch;
    let group: Group = { parts: [], logRecords: 0, bytes: 0 };
    for (const request of batch.requests) {
      if (group.parts.length !== 0 && (group.logRecords + request.logRecords > maxRecords || group.bytes + request.bytes > maxBytes)) {
        yield group;
        group = { parts: [], logRecords: 0, bytes: 0 };
      }
      if (request.bytes <= this.config.max_message_bytes) {
        group.parts.push(request);
        group.logRecords += request.logRecords;
        group.bytes += request.bytes;
        continue;
      }
      const whole = contiguous(request);
      let pieces: Uint8Array[];
      try {
        pieces = splitRequest(whole, this.config.max_message_bytes);
      } catch (err) {
        if (!(err instanceof ExportTooLargeError)) throw err;
        this.refuse(whole, 'too large', err, batch.source);
        continue;
      }
      for (const piece of pieces) yield single(piece);
    }
    if (group.parts.length !== 0) yield group;
  }

  private async deliver(group: Group, source: string, signal: AbortSignal): Promise<void> {
    // A single unedited request goes as the ring's own bytes; anything else is assembled.
    if (group.parts.length === 1 && group.parts[0].pieces.length === 1) return this.attempt(group, group.parts[0].pieces[0], source, signal);
    const buffer = this.buffers.take(group.bytes);
    try {
      let at = 0;
      for (const part of group.parts) {
        for (const piece of part.pieces) {
          buffer.set(piece, at);
          at += piece.byteLength;
        }
      }
      await this.attempt(group, buffer.subarray(0, at), source, signal);
    } finally {
      this.buffers.give(buffer);
    }
  }

  private async attempt(group: Group, request: Uint8Array, source: string, signal: AbortSignal): Promise<void> {
    const started = Date.now();
    const body = this.transport.body(request);
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        const ack = await this.transport.send(body, signal);
        this.acknowledged(group.logRecords, ack);
        if (this.failingSince !== 0) {
          this.log.info('downstream acknowledges again', { exporter: this.name, unavailableForMs: Date.now() - this.failingSince });
          this.failingSince = 0;
        }
        return;
      } catch (err) {
        signal.throwIfAborted();
        if (err instanceof ExportRejectedError) return this.rejected(group, request, err, source, signal);
        if (!(err instanceof ExportUnavailableError)) throw err;
        const delay = err.retryAfterMs ?? backoffMs(this.config.retry, attempt);
        const maxElapsed = this.config.retry.max_elapsed_ms;
        if (maxElapsed !== 0 && Date.now() + delay - started > maxElapsed) {
          this.refuse(request, 'retries exhausted', err, source);
          return;
        }
        countsOf(this.name).retries++;
        this.unavailable(err, attempt, delay);
        await sleep(delay, undefined, { signal });
      }
    }
  }

  /**
   * One bad request must not take its neighbours to the dead-letter file: a merged request
   * that is refused is sent again part by part, and only the parts refused on their own stay refused.
   */
  private async rejected(group: Group, request: Uint8Array, err: ExportRejectedError, source: string, signal: AbortSignal): Promise<void> {
    if (group.parts.length === 1) {
      this.refuse(request, 'rejected', err, source);
      return;
    }
    for (const part of group.parts) await this.deliver({ parts: [part], logRecords: part.logRecords, bytes: part.bytes }, source, signal);
  }

  // During an outage every batch in flight retries; one line per exporter every
  // RETRY_LOG_EVERY_MS says it all without flooding the log.
  private unavailable(err: ExportUnavailableError, attempt: number, delay: number): void {
    const now = Date.now();
    if (this.failingSince === 0) this.failingSince = now;
    else if (now - this.lastRetryLog < RETRY_LOG_EVERY_MS) return;
    this.lastRetryLog = now;
    this.log.warn('downstream unavailable; will retry', {
      exporter: this.name,
      err,
      attempt: attempt + 1,
      retryInMs: delay,
      serverDelay: err.retryAfterMs !== undefined,
      unavailableForMs: now - this.failingSince,
    });
  }

  private acknowledged(logRecords: number, ack: ExportAck): void {
    if (ack.rejectedLogRecords === 0 && ack.errorMessage === '') return;
    countsOf(this.name).rejected += ack.rejectedLogRecords;
    this.log.warn('downstream accepted a request in part', {
      code: 'GS_EXPORT_PARTIAL',
      exporter: this.name,
      rejectedLogRecords: ack.rejectedLogRecords,
      logRecords,
      message: ack.errorMessage,
    });
  }

  private refuse(request: Uint8Array, reason: string, err: unknown, source: string): void {
    this.log.error('downstream refused a request; moved to the dead-letter file', { exporter: this.name, reason, err, source, bytes: request.byteLength });
    this.deadLetter(request, reason, err, `${this.name} ${source}`);
  }
}

function single(request: Uint8Array): Group {
  const logRecords = countLogRecords(request);
  return { parts: [{ pieces: [request], bytes: request.byteLength, logRecords }], logRecords, bytes: request.byteLength };
}


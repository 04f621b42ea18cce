/**
 * The export path shared by the exporter processes and vault replay: turn each record into
 * a serialized ExportLogsServiceRequest (inflated, enriched by splicing its resources),
 * move poison to the dead-letter file (counted, never blocking the rest), and hand the
 * batch to every configured exporter at once. Resolves only when every exporter has the
 * batch, so the caller may then commit its ring or its replay cursor.
 *
 * Each exporter retries on its own: one that failed is retried alone, so the others are not
 * sent the batch twice, and a slow one delays the commit (the ring backs up, and ingest
 * spills to the vault) without losing anything for the others. Nothing is decoded: the file
 * and stdout exporters get OTLP/JSON written once per batch straight from the protobuf bytes
 * (otlp-json-transcoder.ts) or the lines (lines-decoder.ts), into one buffer reused from
 * batch to batch, so memory follows the bytes of a batch, never its number of records.
 */
import { extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, ExporterConfig } from '../common/config';
import { PoisonRecordError } from '../common/errors';
import type { Logger } from '../common/log';
import { encodeLogsRequest } from '../common/otlp-proto';
import type { ResourceSplicer } from '../common/otlp-wire-resource';
import { jsonUnitBudget } from '../common/otlp-json-scan';
import { countLogRecords, countResourceLogs } from '../common/otlp-wire-split';
import { RecordKind } from '../common/record-kind';
import type { RingRecord } from '../common/ring';
import { openDeadLetter, type DeadLetter } from './dead-letter';
import { attributeMerge, resourceSplicer, type AttributeMerge } from './enrichment';
import { contiguous, type ExportBatch, type Exporter, type PreparedRequest } from './exporter';
import { exportCounts, MeasuredExporter, type ExportPath } from './export-metrics';
import { FileExporter } from './file-exporter';
import { JsonBytes } from './json-bytes';
import { decodeLinesRecord } from './lines-decoder';
import { OtlpExporter } from './otlp-exporter';
import { OtlpJsonTranscoder } from './otlp-json-transcoder';
import { decodeRecord, payloadOf } from './record-decoder';
import { StdoutExporter } from './stdout-exporter';

function perInstance(path: string, instance: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${instance}${ext}`;
}

/** The largest inflated payload ingest accepts: gRPC messages and OTLP/HTTP bodies have their own limits. */
function largestPayload(config: Config): number {
  return Math.max(config.ingest.max_message_bytes, config.ingest.otlp_http.max_body_bytes);
}

export type ExportInput = Pick<RingRecord, 'kind' | 'flags' | 'receivedMs' | 'payload'>;

const EXPORTER_RETRY_MIN_MS = 100;
/** Heap one ResourceLogs takes while its request is prepared and sent (splice pieces and their headers), generously. */
const RESOURCE_LOGS_HEAP_BYTES = 512;
const NEWLINE = 0x0a;
const EXPORTER_RETRY_MAX_MS = 10_000;

export class ExportPipeline {
  private readonly exporters: Exporter[];
  private readonly deadLetter: DeadLetter;
  private readonly splicer: ResourceSplicer;
  private readonly merge: AttributeMerge;
  /** OTLP/JSON of the batch, when an exporter writes it (file, stdout). */
  private readonly json: JsonBytes | null;
  private readonly transcoder = new OtlpJsonTranscoder();
  private readonly counts: boolean;
  private readonly aborter = new AbortController();
  /** ResourceLogs prepared at once, at the most: an eighth of the heap cap at RESOURCE_LOGS_HEAP_BYTES each. */
  private readonly resourceBudget: number;
  /** The most an OTLP/JSON record may weigh decoded (otlp-json-scan.ts), from the heap cap. */
  private readonly jsonUnits: number;

  /**
   * `instance` is the exporter process's index. With several exporter processes each writes
   * files of its own (`logs.jsonl` becomes `logs-1.jsonl` for exporter 1): appending
   * processes sharing one file would rotate it under each other and, when cutting back a
   * failed write, truncate away lines another had already committed.
   */
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    instance = 0,
    /** Told of each failed delivery (`source` names the batch's ring), e.g. for gs-ctl status. */
    private readonly onExporterError: (source: string, exporter: string, err: unknown) => void = () => {},
  ) {
    const own = (path: string): string => (config.export.processes > 1 ? perInstance(path, instance) : path);
    this.deadLetter = openDeadLetter(config, own(config.export.dead_letter_path));
    this.exporters = config.exporters.map((e, i) => new MeasuredExporter(this.makeExporter(e, `${e.type}[${i}]`, own)));
    this.splicer = resourceSplicer(config.enrich);
    this.merge = attributeMerge(config.enrich);
    this.jsonUnits = jsonUnitBudget(config.export.max_heap_mib);
    this.resourceBudget = Math.max(64, Math.floor((config.export.max_heap_mib * 1024 * 1024) / 8 / RESOURCE_LOGS_HEAP_BYTES));
    this.json = this.exporters.some((e) => e.writesJson) ? new JsonBytes() : null;
    this.counts = this.exporters.some((e) => !e.writesJson);
  }

  get deadLettered(): number {
    return this.deadLetter.count;
  }

  /**
   * `sourceOf` names a record for the dead-letter file (ring, or vault segment and seq);
   * `path` says whether the records come from ingest or from the vault, for the metrics.
   */
  async export<R extends ExportInput>(records: readonly R[], sourceOf: (record: R) => string, path: ExportPath = 'green'): Promise<void> {
    let requests: PreparedRequest[] = [];
    let resources = 0;
    this.json?.reset();
    for (const record of records) {
      const mark = this.json?.mark();
      try {
        resources += record.kind === RecordKind.Lines ? this.prepareLines(record, requests) : this.prepareRequest(record, requests);
      } catch (err) {
        // Preparing a record depends on its bytes alone, so what failed once fails every
        // time: a record that breaks a decoder in any way (a bug of ours included) is set
        // aside, or the batch would be retried forever and block the ring behind it. Only a
        // failed allocation says nothing about the record.
        if (err instanceof RangeError && /allocation failed/i.test(err.message)) throw err;
        if (mark !== undefined) this.json!.rollback(mark);
        const source = sourceOf(record);
        const poison = err instanceof PoisonRecordError;
        this.deadLetter.record({ reason: poison ? 'undecodable' : 'decoder_failure', error: err, kind: record.kind, flags: record.flags, source, payload: record.payload });
        if (poison) this.log.warn('poison request moved to the dead-letter file', { source, err, deadLettered: this.deadLetter.count });
        else this.log.error('a decoder failed on a request: moved to the dead-letter file (a bug: please report it with the entry)', { code: 'GS_EXPORT_DECODER_FAILURE', source, err, deadLettered: this.deadLetter.count });
      }
      // Each ResourceLogs costs heap while its batch is out (splice pieces, headers): a batch
      // of many tiny ones is sent in parts, so what is held follows the heap cap, not the
      // count a client chose. A part sent may be sent again if the rest fails (at least once).
      if (resources >= this.resourceBudget) {
        await this.send(requests, sourceOf(record), path);
        requests = [];
        resources = 0;
        this.json?.reset();
      }
    }
    if (requests.length > 0) await this.send(requests, sourceOf(records[0]), path);
  }

  private async send(requests: PreparedRequest[], source: string, path: ExportPath): Promise<void> {
    const batch: ExportBatch = { requests, json: this.json?.view() ?? null, source };
    await Promise.all(this.exporters.map((exporter) => this.exportTo(exporter, batch)));
    // Counted once every exporter is done with them: a failed batch stays in its ring and
    // comes back, and would be counted twice (a part of a batch sent in parts still can be,
    // as it is sent twice: at least once, like the exporters' own counts).
    for (const request of requests) exportCounts.receivedLogRecords[path] += request.logRecords;
  }

  /** Stops every delivery in progress; their batches stay in the ring for the next process. */
  abort(): void {
    this.aborter.abort(new Error('exporter shutting down'));
  }

  async close(): Promise<void> {
    this.abort();
    await Promise.all(this.exporters.map((exporter) => exporter.close()));
    this.deadLetter.close();
  }

  private makeExporter(config: ExporterConfig, name: string, own: (path: string) => string): Exporter {
    const deadLetter = (request: Uint8Array, reason: string, error: unknown, source: string): void =>
      this.deadLetter.record({ reason, error, kind: RecordKind.OtlpGrpc, flags: 0, source, payload: request });
    switch (config.type) {
      case 'file':
        return new FileExporter(name, { ...config, path: own(config.path) });
      case 'stdout':
        return new StdoutExporter(name);
      // Each transport's client library (grpc-js, undici: 6 and 11 MiB resident) is loaded
      // only where an exporter of its kind is configured; the default file exporter needs neither.
      case 'otlp_grpc': {
        const { OtlpGrpcTransport } = require('./otlp-grpc-transport') as typeof import('./otlp-grpc-transport');
        return new OtlpExporter(name, config, new OtlpGrpcTransport(config, name), deadLetter, this.log);
      }
      case 'otlp_http': {
        const { OtlpHttpTransport } = require('./otlp-http-transport') as typeof import('./otlp-http-transport');
        return new OtlpExporter(name, config, new OtlpHttpTransport(config, name), deadLetter, this.log);
      }
    }
  }

  /** Enriched by splicing; written as JSON (or walked) before anything is handed out, so that poison reaches no exporter. */
  private prepareRequest(record: ExportInput, requests: PreparedRequest[]): number {
    const original = this.requestOf(record);
    const resources = countResourceLogs(original);
    if (resources > this.resourceBudget) {
      throw new PoisonRecordError(`${resources} ResourceLogs in one request, more than the ${this.resourceBudget} an exporter prepares at once within export.max_heap_mib ${this.config.export.max_heap_mib}`);
    }
    const pieces: Uint8Array[] = [];
    const bytes = this.splicer.splicePieces(original, pieces);
    let logRecords: number;
    if (this.json !== null) {
      logRecords = this.transcoder.write(contiguous({ pieces, bytes, logRecords: 0 }), this.json);
      this.json.byte(NEWLINE);
    } else {
      // Enrichment adds no LogRecord, so the original (one contiguous buffer) is walked.
      logRecords = countLogRecords(original);
    }
    requests.push({ pieces, bytes, logRecords });
    return resources;
  }

  /** Built enriched, and serialized only for a forwarding exporter: the lines never make a round trip through protobuf. */
  private prepareLines(record: ExportInput, requests: PreparedRequest[]): number {
    const lines = decodeLinesRecord(record, this.merge);
    const serialized = this.counts ? lines.encode() : undefined;
    requests.push({ pieces: serialized === undefined ? [] : [serialized], bytes: serialized?.byteLength ?? 0, logRecords: lines.logRecordCount });
    if (this.json !== null) {
      lines.writeOtlpJson(this.json, this.transcoder);
      this.json.byte(NEWLINE);
    }
    return 1;
  }

  /** The record as a serialized ExportLogsServiceRequest: protobuf kinds as they are (inflated), others encoded. */
  private requestOf(record: ExportInput): Uint8Array {
    const max = largestPayload(this.config);
    if (record.kind === RecordKind.OtlpGrpc || record.kind === RecordKind.OtlpHttpProto) return payloadOf(record, max);
    return encodeLogsRequest(decodeRecord(record as RingRecord, max, this.jsonUnits));
  }

  private async exportTo(exporter: Exporter, batch: ExportBatch): Promise<void> {
    const signal = this.aborter.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        await exporter.export(batch, signal);
        return;
      } catch (err) {
        signal.throwIfAborted();
        const delay = Math.min(EXPORTER_RETRY_MAX_MS, EXPORTER_RETRY_MIN_MS * 2 ** attempt);
        this.log.error('exporter failed; retrying this batch for it alone', { exporter: exporter.name, err, retryInMs: delay });
        this.onExporterError(batch.source, exporter.name, err);
        await sleep(delay, undefined, { signal });
      }
    }
  }
}

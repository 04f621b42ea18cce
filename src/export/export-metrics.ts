/**
 * The exporters' series: log records sent or failed per exporter, requests dead-lettered,
 * and how long an exporter takes a batch. Records are counted here, where they are decoded,
 * never in ingest. Registered once per process, whatever the number of pipelines in it.
 */
import { Histogram } from 'prom-client';
import { registry } from '../common/metrics';
import { mirroredCounter } from '../common/mirrored-metrics';
import type { LogsRequest } from './record-decoder';

/** What the pipeline calls on each configured exporter. */
export interface BatchExporter {
  /** Returns once the batch is written; throws to have the whole batch retried. */
  export(requests: readonly LogsRequest[]): void;
  close(): void;
}

/** Plain numbers bumped per batch; mirrored into the registry at scrape time. */
export const exportCounts = {
  deadLetteredRequests: 0,
  byExporter: new Map<string, { sent: number; failed: number }>(),
};

// From 100 µs (a small batch to a local file) to 30 s (a slow remote with retries).
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let latency: Histogram<'exporter'> | undefined;

function register(): Histogram<'exporter'> {
  const each = (pick: 'sent' | 'failed') => (report: (labels: { exporter: string }, value: number) => void) =>
    exportCounts.byExporter.forEach((c, exporter) => report({ exporter }, c[pick]));
  mirroredCounter({
    name: 'gophership_export_records_sent_total',
    help: 'Log records an exporter took (written, or acknowledged downstream), by exporter type.',
    labelNames: ['exporter'],
    read: each('sent'),
  });
  mirroredCounter({
    name: 'gophership_export_records_failed_total',
    help: 'Log records in batches an exporter failed to take; the batch stays in its ring and is retried.',
    labelNames: ['exporter'],
    read: each('failed'),
  });
  mirroredCounter({
    name: 'gophership_export_dead_lettered_requests_total',
    help: 'Requests that could not be decoded, moved to the dead-letter file (their records cannot be counted).',
    read: (report) => report({}, exportCounts.deadLetteredRequests),
  });
  return new Histogram({
    name: 'gophership_export_latency_seconds',
    help: 'Time an exporter takes one batch, failed attempts included, by exporter type.',
    labelNames: ['exporter'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}

/** Counts and times every batch given to `exporter`. */
export class MeasuredExporter implements BatchExporter {
  private readonly counts: { sent: number; failed: number };
  private readonly observe: (seconds: number) => void;

  constructor(
    type: string,
    private readonly exporter: BatchExporter,
  ) {
    latency ??= register();
    let counts = exportCounts.byExporter.get(type);
    if (counts === undefined) exportCounts.byExporter.set(type, (counts = { sent: 0, failed: 0 }));
    this.counts = counts;
    this.observe = latency.labels(type).observe;
  }

  export(requests: readonly LogsRequest[]): void {
    const records = countRecords(requests);
    const started = performance.now();
    try {
      this.exporter.export(requests);
      this.counts.sent += records;
    } catch (err) {
      this.counts.failed += records;
      throw err;
    } finally {
      this.observe((performance.now() - started) / 1000);
    }
  }

  close(): void {
    this.exporter.close();
  }
}

function countRecords(requests: readonly LogsRequest[]): number {
  let n = 0;
  for (const request of requests) for (const resource of request.resourceLogs) for (const scope of resource.scopeLogs) n += scope.logRecords.length;
  return n;
}

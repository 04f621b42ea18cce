/**
 * The exporters' series: log records sent, failed, rejected by the downstream (partial
 * success) and retried per exporter, requests dead-lettered, and how long an exporter takes a
 * batch. Records are counted here, where they are prepared, never in ingest. Registered once
 * per process, whatever the number of pipelines in it.
 */
import { Histogram } from '../common/prom-lite';
import { registry } from '../common/metrics';
import { mirroredCounter } from '../common/mirrored-metrics';
import type { ExportBatch, Exporter } from './exporter';

/** How a batch reached the exporter: from a green ring, or replayed from the vault. */
export type ExportPath = 'green' | 'replay';

interface ExporterCounts {
  sent: number;
  failed: number;
  rejected: number;
  retries: number;
}

/** Plain numbers bumped per batch; mirrored into the registry at scrape time. */
export const exportCounts = {
  /** Undecodable requests and requests a downstream refused for good. */
  deadLetteredRequests: 0,
  /**
   * Log records the exporters took out of their rings, once each whatever the number of
   * exporters, by the path they came by: `green` straight from ingest, `replay` from the
   * vault. Ingest does not walk most requests deep enough to count their log records, so
   * this is where records in are compared with records sent.
   */
  receivedLogRecords: { green: 0, replay: 0 } as Record<ExportPath, number>,
  byExporter: new Map<string, ExporterCounts>(),
};

/** The counters of one exporter (by name, `otlp_grpc[0]`), for it to bump. */
export function countsOf(exporter: string): ExporterCounts {
  let counts = exportCounts.byExporter.get(exporter);
  if (counts === undefined) exportCounts.byExporter.set(exporter, (counts = { sent: 0, failed: 0, rejected: 0, retries: 0 }));
  return counts;
}

// From 100 µs (a small batch to a local file) to 30 s (a slow remote with retries).
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let latency: Histogram<'exporter'> | undefined;

function register(): Histogram<'exporter'> {
  const each = (pick: keyof ExporterCounts) => (report: (labels: { exporter: string }, value: number) => void) =>
    exportCounts.byExporter.forEach((c, exporter) => report({ exporter }, c[pick]));
  mirroredCounter({
    name: 'gophership_export_sent_log_records_total',
    help: 'Log records an exporter took (written, or acknowledged downstream), by exporter.',
    labelNames: ['exporter'],
    read: each('sent'),
  });
  mirroredCounter({
    name: 'gophership_export_failed_log_records_total',
    help: 'Log records in batches an exporter failed to take; the batch stays in its ring and is retried.',
    labelNames: ['exporter'],
    read: each('failed'),
  });
  mirroredCounter({
    name: 'gophership_export_rejected_log_records_total',
    help: 'Log records a downstream refused within an accepted request (OTLP partial success, rejected_log_records); not retried.',
    labelNames: ['exporter'],
    read: each('rejected'),
  });
  mirroredCounter({
    name: 'gophership_export_received_log_records_total',
    help: 'Log records the exporters took out of their rings (every exporter done with the batch), once each, by path: green (from ingest) or replay (from the vault).',
    labelNames: ['path'],
    read: (report) => Object.entries(exportCounts.receivedLogRecords).forEach(([path, n]) => report({ path }, n)),
  });
  mirroredCounter({
    name: 'gophership_export_retries_total',
    help: 'Requests sent again to a downstream after a retryable failure.',
    labelNames: ['exporter'],
    read: each('retries'),
  });
  mirroredCounter({
    name: 'gophership_export_dead_lettered_requests_total',
    help: 'Requests moved to the dead-letter file: undecodable, or refused by a downstream for good.',
    read: (report) => report({}, exportCounts.deadLetteredRequests),
  });
  return new Histogram({
    name: 'gophership_export_latency_seconds',
    help: 'Time an exporter takes one batch, retries included, by exporter.',
    labelNames: ['exporter'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}

/** Counts and times every batch given to `exporter`. */
export class MeasuredExporter implements Exporter {
  readonly name: string;
  readonly writesJson: boolean;
  private readonly counts: ExporterCounts;
  private readonly observe: (seconds: number) => void;

  constructor(private readonly exporter: Exporter) {
    latency ??= register();
    this.name = exporter.name;
    this.writesJson = exporter.writesJson;
    this.counts = countsOf(exporter.name);
    this.observe = latency.labels(exporter.name).observe;
    // Served at 0 before the first batch, so a dashboard shows a line rather than no data.
    latency.zero({ exporter: exporter.name });
  }

  async export(batch: ExportBatch, signal: AbortSignal): Promise<void> {
    const records = recordsIn(batch);
    const started = performance.now();
    try {
      await this.exporter.export(batch, signal);
      this.counts.sent += records;
    } catch (err) {
      this.counts.failed += records;
      throw err;
    } finally {
      this.observe((performance.now() - started) / 1000);
    }
  }

  close(): void | Promise<void> {
    return this.exporter.close();
  }
}

function recordsIn(batch: ExportBatch): number {
  let n = 0;
  for (const request of batch.requests) n += request.logRecords;
  return n;
}

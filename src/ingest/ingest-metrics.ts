/**
 * An ingest worker's series. Ingest does not decode, so it counts requests and bytes; log
 * records only where it scans a request whole anyway (OTLP/JSON bodies), and the exporters
 * count them all. Everything here mirrors plain numbers that the
 * request path bumps (ProtocolCounters, CountingRingWriter): a scrape copies them.
 */
import { mirroredCounter, mirroredGauge } from '../common/mirrored-metrics';
import type { RecordKind } from '../common/record-kind';
import { RingWriter, type Ring } from '../common/ring';
import type { RingColor } from '../common/ring-layout';
import type { LinesCounters } from './lines-server';
import type { ConnectionCounters } from './connection-cap';
import type { InflightBudget } from './inflight-budget';
import { CAPACITY_MESSAGES, type CapacityRefusal, type ProtocolCounters, type Receiver } from './receiver';

/** How often a worker looks whether it refused for capacity: the resolution of "refusing". */
const REFUSING_CHECK_MS = 1000;
const CAPACITY_REFUSALS = Object.keys(CAPACITY_MESSAGES) as CapacityRefusal[];

/** The lines receiver never refuses (it stops reading instead) and has no requests to cancel. */
const NO_REFUSALS: Readonly<Record<string, number>> = Object.freeze({});

/** A ring writer that counts what it published, for green/red routing metrics. */
export class CountingRingWriter extends RingWriter {
  requests = 0;
  bytes = 0;

  constructor(ring: Ring, onPublishToSleeper?: () => void) {
    super(ring, onPublishToSleeper);
  }

  override offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number, receivedMs?: number): boolean {
    if (!super.offer(kind, flags, chunks, length, receivedMs)) return false;
    this.requests++;
    this.bytes += length;
    return true;
  }
}

export class IngestMetrics {
  private readonly servers: Array<{ protocol: string; counters: ProtocolCounters; connections: ConnectionCounters }> = [];
  private readonly linesServers: LinesCounters[] = [];
  private readonly writers = new Map<RingColor, CountingRingWriter>();
  private inflight: InflightBudget | undefined;
  private capacityRefusals = 0;
  private lastRefusalMs = -Infinity;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly refusingWindowMs: number) {
    mirroredCounter({
      name: 'gophership_ingest_accepted_requests_total',
      help: 'Requests stored in a ring (green or red) and answered OK, by protocol.',
      labelNames: ['protocol'],
      read: (report) => this.eachProtocol((protocol, c) => report({ protocol }, c.acceptedRequests)),
    });
    mirroredCounter({
      name: 'gophership_ingest_accepted_bytes_total',
      help: 'Message bytes of accepted requests as received (compressed when the client compressed), by protocol.',
      labelNames: ['protocol'],
      read: (report) => this.eachProtocol((protocol, c) => report({ protocol }, c.acceptedBytes)),
    });
    mirroredCounter({
      name: 'gophership_ingest_accepted_json_log_records_total',
      help: 'Log records in accepted OTLP/HTTP JSON bodies (the body check scans them whole); protobuf and lines are counted by the exporters only.',
      read: (report) => report({}, this.servers.reduce((sum, { counters }) => sum + (counters.acceptedJsonLogRecords ?? 0), 0)),
    });
    mirroredCounter({
      name: 'gophership_ingest_refused_requests_total',
      help: 'Requests refused, by protocol and reason (ring_full and overloaded are retryable).',
      labelNames: ['protocol', 'reason'],
      read: (report) =>
        this.eachProtocol((protocol, c) => {
          for (const [reason, n] of Object.entries(c.refused)) report({ protocol, reason: snakeCase(reason) }, n);
        }),
    });
    mirroredCounter({
      name: 'gophership_ingest_cancelled_requests_total',
      help: 'Requests that ended before an answer (client reset or disconnect), by protocol.',
      labelNames: ['protocol'],
      read: (report) => this.eachProtocol((protocol, c) => report({ protocol }, c.cancelled)),
    });
    mirroredCounter({
      name: 'gophership_ingest_refused_connections_total',
      help: 'Connections closed on accept because their listener held ingest.max_connections, by protocol.',
      labelNames: ['protocol'],
      read: (report) => {
        const sums = new Map<string, number>();
        for (const { protocol, connections } of this.servers) sums.set(protocol, (sums.get(protocol) ?? 0) + connections.refused);
        sums.forEach((n, protocol) => report({ protocol }, n));
      },
    });
    mirroredCounter({
      name: 'gophership_ingest_routed_requests_total',
      help: 'Requests written to a ring, by ring color: green to the exporters, red to the vault.',
      labelNames: ['ring'],
      read: (report) => this.writers.forEach((w, ring) => report({ ring }, w.requests)),
    });
    mirroredCounter({
      name: 'gophership_ingest_routed_bytes_total',
      help: 'Request bytes written to a ring, by ring color.',
      labelNames: ['ring'],
      read: (report) => this.writers.forEach((w, ring) => report({ ring }, w.bytes)),
    });
    mirroredGauge({
      name: 'gophership_ingest_inflight_bytes',
      help: 'Request bytes received but not yet in a ring (requests still arriving), summed over workers; each worker holds at most ingest.max_inflight_bytes.',
      read: (report) => {
        if (this.inflight !== undefined) report({}, this.inflight.inUse);
      },
    });
    mirroredGauge({
      name: 'gophership_ingest_refusing',
      help: 'Ingest workers that refused a request for lack of room within metrics.refusing_window_ms (summed over workers).',
      read: (report) => report({}, this.refusing() ? 1 : 0),
    });
    const linesCounter = (name: string, help: string, read: (c: LinesCounters) => number): void => {
      mirroredCounter({
        name,
        help,
        read: (report) => {
          if (this.linesServers.length !== 0) report({}, this.linesServers.reduce((sum, c) => sum + read(c), 0));
        },
      });
    };
    linesCounter('gophership_ingest_lines_connections_total', 'Connections the lines receiver accepted (TCP after the TLS handshake, and Unix).', (c) => c.connections);
    linesCounter('gophership_ingest_lines_long_lines_total', 'Lines longer than ingest.lines.max_line_bytes, split or truncated by ingest.lines.long_lines.', (c) => c.longLines);
    linesCounter('gophership_ingest_lines_paused_total', 'Times a lines connection stopped reading because both rings were full (TCP backpressure).', (c) => c.paused);
    linesCounter('gophership_ingest_lines_idle_closed_total', 'Lines connections closed for ingest.lines.idle_timeout_ms: silent, or holding one partial line, too long.', (c) => c.idleClosed);
    linesCounter('gophership_ingest_lines_lost_bytes_total', 'Line bytes read but not stored: held at shutdown while both rings stayed full past the grace.', (c) => c.lostAtShutdown);
    this.timer = setInterval(() => this.checkRefusals(), REFUSING_CHECK_MS).unref();
  }

  /** The worker's in-flight budget, shared by its OTLP receivers. */
  setInflight(budget: InflightBudget): void {
    this.inflight = budget;
  }

  addServer(protocol: string, server: Receiver<ProtocolCounters>): void {
    this.servers.push({ protocol, counters: server.counters, connections: server.connections });
  }

  /** A lines listener: its records count as accepted requests of protocol `lines`, plus series of its own. */
  addLinesServer({ counters, connections }: Receiver<LinesCounters>): void {
    this.linesServers.push(counters);
    this.servers.push({
      protocol: 'lines',
      connections,
      counters: {
        get acceptedRequests() {
          return counters.records;
        },
        get acceptedBytes() {
          return counters.bytes;
        },
        refused: NO_REFUSALS,
        cancelled: 0,
      },
    });
  }

  writer(color: RingColor, ring: Ring, onPublishToSleeper?: () => void): CountingRingWriter {
    const writer = new CountingRingWriter(ring, onPublishToSleeper);
    this.writers.set(color, writer);
    return writer;
  }

  /** Refused a request for lack of room within the window (seen at REFUSING_CHECK_MS resolution). */
  refusing(): boolean {
    this.checkRefusals();
    return performance.now() - this.lastRefusalMs < this.refusingWindowMs;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private checkRefusals(): void {
    let n = 0;
    // Refusals for lack of room, and only these, make a worker "refusing" for /readyz: the
    // others are the client's fault and say nothing about the worker.
    for (const { counters } of this.servers) for (const reason of CAPACITY_REFUSALS) n += counters.refused[reason] ?? 0;
    if (n > this.capacityRefusals) this.lastRefusalMs = performance.now();
    this.capacityRefusals = n;
  }

  /** One report per protocol, summed over that protocol's servers (TCP and Unix listeners). */
  private eachProtocol(visit: (protocol: string, c: ProtocolCounters) => void): void {
    const sums = new Map<string, { acceptedRequests: number; acceptedBytes: number; refused: Record<string, number>; cancelled: number }>();
    for (const { protocol, counters } of this.servers) {
      const sum = sums.get(protocol) ?? { acceptedRequests: 0, acceptedBytes: 0, refused: {}, cancelled: 0 };
      sum.acceptedRequests += counters.acceptedRequests;
      sum.acceptedBytes += counters.acceptedBytes;
      sum.cancelled += counters.cancelled;
      for (const [reason, n] of Object.entries(counters.refused)) sum.refused[reason] = (sum.refused[reason] ?? 0) + n;
      sums.set(protocol, sum);
    }
    sums.forEach((c, protocol) => visit(protocol, c));
  }
}

function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

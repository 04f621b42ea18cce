/**
 * The lines receiver: newline-delimited text over TCP or a Unix socket, no framing, no
 * acknowledgement. Each read is cut at its last line boundary (lines-framer) and stored as
 * one record of kind `lines`; the exporter turns the lines into log records.
 *
 * Backpressure is the socket's own: when neither ring takes a record, the connection stops
 * reading (the kernel's receive window closes and the sender blocks) and keeps only that one
 * record, retried on a short timer until a ring has room. Nothing queues beyond it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TlsOptions } from 'node:tls';
import { encodeLinesHeader, LinesTransport } from '../common/lines-record';
import { createLogger, type Logger } from '../common/log';
import { RecordKind, type RecordSink } from '../common/record-kind';
import { guardTlsServer } from '../common/tls-context';
import { capConnections } from './connection-cap';
import { LineFramer, type LongLinePolicy } from './lines-framer';
import { listenOn } from '../common/listen-on';
import type { Receiver } from './receiver';

export interface LinesServerOptions {
  sink: RecordSink;
  maxLineBytes: number;
  longLines: LongLinePolicy;
  /** A Unix socket's path, named as the source of its lines (its peers have no address). */
  unixPath?: string;
  /** How often a paused connection retries its record; default 5 ms. */
  retryMs?: number;
  /** TLS (tls-context.ts tlsServerOptions, no ALPN); absent: plaintext. */
  tls?: TlsOptions;
  /**
   * A connection that sends nothing for this long, or holds one partial line for this long,
   * is closed (its partial line stored as a line, as when a client closes). Absent: never.
   */
  idleTimeoutMs?: number;
  /** Connections this listener holds at once (connection-cap.ts); absent: no cap. */
  maxConnections?: number;
  log?: Logger;
}

export interface LinesCounters {
  connections: number;
  /** Records stored: runs of whole lines, at most one read (64 KiB) or one long line each. */
  records: number;
  /** Their line bytes, without the record's header (with the newline added where a long line is split). */
  bytes: number;
  /** Lines longer than max_line_bytes (split or truncated, by policy). */
  longLines: number;
  /** Times a connection stopped reading because both rings were full. */
  paused: number;
  /** Bytes read but never stored: held at shutdown while both rings stayed full. */
  lostAtShutdown: number;
  /** Connections closed by idle_timeout_ms: silent, or holding a partial line, too long. */
  idleClosed: number;
}

export type LinesServer = Receiver<LinesCounters>;

/** Node reads a socket 64 KiB at a time; a record must stay within what config sized the ring for. */
const MAX_READ_BYTES = 64 * 1024;

export function createLinesServer(options: LinesServerOptions): LinesServer {
  const { sink, maxLineBytes, longLines } = options;
  const log = options.log ?? createLogger('lines');
  const retryMs = options.retryMs ?? 5;
  const { idleTimeoutMs } = options;
  const counters: LinesCounters = { connections: 0, records: 0, bytes: 0, longLines: 0, paused: 0, lostAtShutdown: 0, idleClosed: 0 };
  const connections = new Set<Connection>();
  const waiting = new Set<Connection>();
  let retryTimer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;
  /** Set by close(): told whenever a connection finishes. */
  let onSettled: (() => void) | undefined;

  const retryWaiting = (): void => {
    retryTimer = undefined;
    for (const connection of waiting) connection.pump();
    if (waiting.size > 0) retryTimer = setTimeout(retryWaiting, retryMs);
  };

  class Connection {
    private readonly framer: LineFramer;
    private readonly backlog: Buffer[] = [];
    private held: { segments: readonly Buffer[]; bytes: number } | undefined;
    private readonly headerBytes: number;
    private ended = false;
    private finished = false;
    /** When the partial line the framer holds began; NaN while it holds none. */
    private partialSinceMs = NaN;

    constructor(private readonly socket: Socket) {
      const source = options.unixPath !== undefined ? options.unixPath : `${socket.remoteAddress}:${socket.remotePort}`;
      const header = encodeLinesHeader(options.unixPath !== undefined ? LinesTransport.Unix : LinesTransport.Tcp, source);
      this.framer = new LineFramer(header, maxLineBytes, longLines);
      this.headerBytes = header.length;
      socket.on('data', (chunk: Buffer) => {
        this.backlog.push(chunk);
        this.pump();
        this.checkPartialLine();
      });
      // Silence: no byte at all for idle_timeout_ms (a paused connection is not silent, it
      // is waiting for us: its timer is stopped while the socket is paused).
      if (idleTimeoutMs !== undefined) {
        socket.on('timeout', () => this.closeIdle('silent'));
        socket.setTimeout(idleTimeoutMs);
      }
      socket.once('end', () => {
        this.ended = true;
        this.pump();
      });
      socket.on('error', (err) => log.debug('lines connection error', { err }));
      socket.once('close', () => {
        // A reset connection ends without 'end': what it sent is still delivered.
        connections.delete(this);
        this.ended = true;
        this.pump();
      });
    }

    /** Stores what can be stored; pauses the socket on a full ring. */
    pump(): void {
      if (this.held !== undefined && !this.store(this.held)) return;
      this.held = undefined;
      while (this.backlog.length > 0) {
        let chunk = this.backlog.shift()!;
        if (chunk.length > MAX_READ_BYTES) {
          this.backlog.unshift(chunk.subarray(MAX_READ_BYTES));
          chunk = chunk.subarray(0, MAX_READ_BYTES);
        }
        const record = this.framer.push(chunk);
        counters.longLines += this.framer.longLines;
        this.framer.longLines = 0;
        if (record.bytes > 0 && !this.store(record)) return this.hold(record);
      }
      if (this.ended && !this.finished) {
        this.finished = true;
        const record = this.framer.finish();
        if (record.bytes > 0 && !this.store(record)) return this.hold(record);
      }
      if (waiting.delete(this) && !this.ended) {
        this.socket.resume();
        // The time it spent paused was ours, not the client's.
        this.partialSinceMs = NaN;
        if (idleTimeoutMs !== undefined) this.socket.setTimeout(idleTimeoutMs);
      }
      if (this.finished) onSettled?.();
    }

    /**
     * A client that trickles a line a byte at a time is never silent; the age of its partial
     * line bounds how long it may keep one (and the memory in it) open. Checked per read,
     * which is when the line can grow.
     */
    private checkPartialLine(): void {
      if (idleTimeoutMs === undefined || this.ended) return;
      if (this.framer.pendingBytes === 0) {
        this.partialSinceMs = NaN;
        return;
      }
      const now = performance.now();
      if (Number.isNaN(this.partialSinceMs)) this.partialSinceMs = now;
      else if (now - this.partialSinceMs > idleTimeoutMs) this.closeIdle('partial line');
    }

    private closeIdle(why: string): void {
      counters.idleClosed++;
      log.debug('lines connection closed: idle too long (ingest.lines.idle_timeout_ms)', { why, idleTimeoutMs });
      // 'close' follows, which stores the partial line as a client's own close would.
      this.socket.destroy();
    }

    /** Shutdown: the rest of the stream is not coming; store the partial line and go. */
    cut(): void {
      this.ended = true;
      this.pump();
      const held = this.held === undefined ? 0 : this.held.bytes - this.headerBytes;
      const lost = held + this.backlog.reduce((sum, chunk) => sum + chunk.length, 0);
      if (lost > 0) {
        counters.lostAtShutdown += lost;
        log.warn('lines lost at shutdown: both rings stayed full', { bytes: lost });
      }
      this.held = undefined;
      this.backlog.length = 0;
      this.finished = true;
      waiting.delete(this);
      this.socket.destroy();
    }

    private store(record: { segments: readonly Buffer[]; bytes: number }): boolean {
      if (!sink.offer(RecordKind.Lines, 0, record.segments, record.bytes)) return false;
      counters.records++;
      counters.bytes += record.bytes - this.headerBytes;
      return true;
    }

    private hold(record: { segments: readonly Buffer[]; bytes: number }): void {
      // The framer reuses its list on the next call; the held record keeps its own.
      this.held = { segments: [...record.segments], bytes: record.bytes };
      if (waiting.has(this)) return;
      counters.paused++;
      waiting.add(this);
      this.socket.pause();
      this.socket.setTimeout(0);
      retryTimer ??= setTimeout(retryWaiting, retryMs);
    }
  }

  const accept = (socket: Socket): void => {
    counters.connections++;
    connections.add(new Connection(socket));
  };
  // A TLS connection is counted and read once its handshake is done ('secureConnection').
  const server: Server = options.tls === undefined ? createServer(accept) : createTlsServer(options.tls, accept);
  if (options.tls !== undefined) guardTlsServer(server as TlsServer, options.tls, log, 'lines');
  const connectionCounters = capConnections(server, options.maxConnections, log, 'lines');

  return {
    counters,
    connections: connectionCounters,

    listen: (target) => listenOn(server, target, log, 'lines'),

    address: () => server.address(),

    setSecureContext(secure: SecureContextOptions) {
      if (options.tls !== undefined) (server as TlsServer).setSecureContext(secure);
    },

    close(graceMs) {
      closed ??= new Promise<void>((resolve) => {
        let listenerClosed = false;
        // Done when no connection is left and none still holds a record for a full ring.
        const settle = (): void => {
          if (!listenerClosed || connections.size > 0 || waiting.size > 0) return;
          clearTimeout(cutoff);
          clearTimeout(retryTimer);
          resolve();
        };
        onSettled = settle;
        const cutoff = setTimeout(() => {
          for (const connection of new Set([...connections, ...waiting])) connection.cut();
          settle();
        }, graceMs).unref();
        server.close(() => {
          listenerClosed = true;
          settle();
        });
      });
      return closed;
    },
  };
}

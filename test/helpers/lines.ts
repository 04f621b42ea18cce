/** Lines clients for tests (plain sockets, as `nc` or a syslog forwarder would be) and a count of what came out. */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { decodeLinesRecord } from '../../src/export/lines-decoder';
import { RecordKind } from '../../src/common/record-kind';
import { scanSegment } from '../../src/vault/segment-reader';
import { listSegments } from '../../src/vault/vault-dir';

export type LinesTarget = { port: number } | { path: string };

export async function openLines(target: LinesTarget): Promise<Socket> {
  const socket = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
  await once(socket, 'connect');
  return socket;
}

/** Writes every piece (waiting for drain, as a well-behaved sender does), ends, and waits for the close. */
export async function sendLines(target: LinesTarget, pieces: Iterable<string | Buffer>): Promise<void> {
  const socket = await openLines(target);
  for (const piece of pieces) {
    if (!socket.write(piece)) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'close');
}

export interface LinesOutput {
  /** How often each body was written. */
  bodies: Map<string, number>;
  /** Resource attributes of the records that held lines, as key=value strings, counted. */
  sources: Map<string, number>;
}

interface JsonRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeLogs?: Array<{ logRecords?: Array<{ body?: { stringValue?: string }; observedTimeUnixNano?: string }> }>;
  }>;
}

/** Reads the file exporter's output: each log record's string body, and where its lines came from. */
export function readLinesOutput(outputPath: string): LinesOutput {
  const output: LinesOutput = { bodies: new Map(), sources: new Map() };
  if (!existsSync(outputPath)) return output;
  for (const line of readFileSync(outputPath, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of (JSON.parse(line) as JsonRequest).resourceLogs ?? []) {
      const transport = rl.resource?.attributes?.find((a) => a.key === 'network.transport')?.value.stringValue;
      if (transport !== undefined) output.sources.set(transport, (output.sources.get(transport) ?? 0) + 1);
      for (const sl of rl.scopeLogs ?? []) {
        for (const record of sl.logRecords ?? []) {
          const body = record.body?.stringValue;
          if (body !== undefined) output.bodies.set(body, (output.bodies.get(body) ?? 0) + 1);
        }
      }
    }
  }
  return output;
}

/** The bodies of the lines records in the vault's segments (read-only). */
export function readVaultLines(vaultDir: string): Map<string, number> {
  const bodies = new Map<string, number>();
  for (const segment of listSegments(vaultDir)) {
    scanSegment(segment.path, (record) => {
      if (record.kind !== RecordKind.Lines) return;
      for (const rl of decodeLinesRecord(record).resourceLogs) {
        for (const sl of rl.scopeLogs) for (const r of sl.logRecords) bodies.set(r.body!.stringValue, (bodies.get(r.body!.stringValue) ?? 0) + 1);
      }
    });
  }
  return bodies;
}

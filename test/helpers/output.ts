/** Counts each record's test.id in what the engine wrote: file exporter output, or the vault. */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decodeLogsRequest } from '../../src/common/otlp-proto';
import { RecordFlag } from '../../src/common/record-kind';
import { attachRing } from '../../src/common/ring';
import { listRings, ringPath, type RingColor } from '../../src/common/ring-layout';
import { scanSegment } from '../../src/vault/segment-reader';
import { listSegments } from '../../src/vault/vault-dir';

interface JsonKeyValue {
  key: string;
  value?: { stringValue?: string };
}

/** `key`: the attribute holding the id (the tutorial's sender uses tutorial.id). */
export function countIds(outputPath: string, key = 'test.id'): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(outputPath)) return counts;
  for (const line of readFileSync(outputPath, 'utf8').split('\n')) {
    if (line === '') continue;
    const request = JSON.parse(line) as { resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Array<{ attributes?: JsonKeyValue[] }> }> }> };
    for (const rl of request.resourceLogs ?? []) {
      for (const sl of rl.scopeLogs ?? []) {
        for (const rec of sl.logRecords ?? []) {
          const id = rec.attributes?.find((a) => a.key === key)?.value?.stringValue;
          if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    }
  }
  return counts;
}

/** Decodes every record in the vault's segments (read-only) and counts each test.id. */
export function countVaultIds(vaultDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const segment of listSegments(vaultDir)) scanSegment(segment.path, (record) => countPayload(counts, record));
  return counts;
}

/** The same for what waits in the rings of one color (read without committing anything). */
export function countRingIds(ringDir: string, color: RingColor): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of listRings(ringDir, color)) {
    const reader = attachRing(ringPath(ringDir, color, i)).reader();
    for (let record = reader.next(); record !== null; record = reader.next()) countPayload(counts, record);
  }
  return counts;
}

function countPayload(counts: Map<string, number>, record: { flags: number; payload: Uint8Array }): void {
  const bytes = (record.flags & RecordFlag.Gzip) === 0 ? record.payload : gunzipSync(record.payload);
  for (const rl of decodeLogsRequest(bytes).resourceLogs) {
    for (const sl of rl.scopeLogs) {
      for (const rec of sl.logRecords) {
        const id = rec.attributes.find((a) => a.key === 'test.id')?.value?.stringValue;
        if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
  }
}

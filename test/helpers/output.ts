/** Reads the file exporter's OTLP JSON output and counts each record's test.id. */
import { existsSync, readFileSync } from 'node:fs';

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string };
}

export function countIds(outputPath: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(outputPath)) return counts;
  for (const line of readFileSync(outputPath, 'utf8').split('\n')) {
    if (line === '') continue;
    const request = JSON.parse(line) as { resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Array<{ attributes?: JsonKeyValue[] }> }> }> };
    for (const rl of request.resourceLogs ?? []) {
      for (const sl of rl.scopeLogs ?? []) {
        for (const rec of sl.logRecords ?? []) {
          const id = rec.attributes?.find((a) => a.key === 'test.id')?.value.stringValue;
          if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    }
  }
  return counts;
}

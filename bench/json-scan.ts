/**
 * What the ingest OTLP/JSON check (otlp-json-scan.ts) costs per MiB of body:
 *   npm run bench:json-scan -- [MiB=64]
 * Scans typical SDK-like requests and the worst case for the scanner (empty log records),
 * in 64 KiB chunks as the receiver sees them, and prints ms per MiB and MiB/s; JSON.parse
 * of the same bytes is shown beside it for scale. Bounded: each body is scanned at most
 * 20 times or 10 s.
 */
import { jsonUnitBudget, OtlpJsonScanner } from '../src/common/otlp-json-scan';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const ROUNDS = 20;
const BUDGET_MS = 10_000;

function body(kind: 'typical' | 'empty', bytes: number): Buffer {
  const record =
    kind === 'empty'
      ? '{}'
      : '{"timeUnixNano":"1700000000000000001","observedTimeUnixNano":"1700000000000000002","severityNumber":9,"severityText":"INFO","body":{"stringValue":"GET /api/v1/items 200 12ms user=42 \\"ok\\""},"attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.status_code","value":{"intValue":"200"}}],"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}';
  const count = Math.floor(bytes / (record.length + 1));
  return Buffer.from(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bench"}}]},"scopeLogs":[{"scope":{"name":"b"},"logRecords":[${Array(count).fill(record).join(',')}]}]}]}`);
}

function measure(work: () => void): number {
  work();
  const started = process.hrtime.bigint();
  let rounds = 0;
  while (rounds < ROUNDS && Number(process.hrtime.bigint() - started) / 1e6 < BUDGET_MS) {
    work();
    rounds++;
  }
  return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

const mib = Number(process.argv[2] ?? 64);
const units = jsonUnitBudget(65536);
for (const kind of ['typical', 'empty'] as const) {
  const bytes = body(kind, mib * MiB);
  const scanMs = measure(() => {
    const scanner = new OtlpJsonScanner({ maxUnits: units, shape: true });
    for (let at = 0; at < bytes.length; at += CHUNK) if (scanner.push(bytes.subarray(at, at + CHUNK)) !== undefined) throw new Error('refused');
    if (scanner.finish() !== undefined) throw new Error('refused');
  });
  const parseMs = measure(() => JSON.parse(bytes.toString('utf8')));
  const perMiB = (ms: number): number => Math.round((ms / (bytes.length / MiB)) * 100) / 100;
  console.log(JSON.stringify({ kind, MiB: Math.round((bytes.length / MiB) * 10) / 10, scanMsPerMiB: perMiB(scanMs), scanMiBPerSecond: Math.round(bytes.length / MiB / (scanMs / 1000)), jsonParseMsPerMiB: perMiB(parseMs) }));
}

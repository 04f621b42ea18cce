import test from 'ava';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { RecordKind } from '../src/common/record-kind';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../src/vault/segment-format';
import { scanSegment } from '../src/vault/segment-reader';
import { SegmentWriter } from '../src/vault/segment-writer';
import { ROOT, scratchDir } from './helpers/engine';
import { gsCtl, gsCtlIn } from './helpers/gs-ctl';

const RECORDS = 3000;
const FIRST_RECEIVED_MS = Date.parse('2025-03-01T12:00:00.000Z');

function receivedAt(seq: number): number {
  return FIRST_RECEIVED_MS + seq * 250;
}

/** A vault of RECORDS real OTLP requests over several segments; returns the segment paths. */
function writeVault(t: { teardown(fn: () => void): void }): { dir: string; segments: string[] } {
  const dir = scratchDir('test-ctl-vault-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const writer = new SegmentWriter({ dir, segmentBytes: 64 * 1024, sync: 'never' });
  for (let seq = 1; seq <= RECORDS; seq++) {
    const request = ExportLogsServiceRequest.fromObject({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `vaulted ${seq}` }, attributes: [{ key: 'test.id', value: { stringValue: `id-${seq}` } }] }] }] }],
    });
    writer.append({ kind: RecordKind.OtlpGrpc, flags: 0, receivedMs: receivedAt(seq), payload: ExportLogsServiceRequest.encode(request).finish() });
  }
  writer.close();
  const segments = readdirSync(dir).sort().map((name) => join(dir, name));
  return { dir, segments };
}

function snapshot(paths: readonly string[]): Buffer[] {
  return paths.map((p) => readFileSync(p));
}

interface LsJson {
  segments: Array<{ file: string; first_seq: number; last_seq: number; records: number; bytes: number; oldest: string; newest: string }>;
  total: { segments: number; first_seq: number; last_seq: number; records: number; bytes: number; oldest: string; newest: string };
}

test('vault ls lists every segment with its seq range, records, bytes and receive times', async (t) => {
  const { dir, segments } = writeVault(t);
  t.true(segments.length >= 3, 'the vault spans several segments');

  const json = await gsCtl('vault', 'ls', '--json', dir);
  t.is(json.code, 0, json.stderr);
  const listing = JSON.parse(json.stdout) as LsJson;
  t.is(listing.segments.length, segments.length);
  let next = 1;
  for (const [i, entry] of listing.segments.entries()) {
    const seqs: number[] = [];
    scanSegment(segments[i], (r) => seqs.push(r.seq));
    t.is(entry.file, segments[i].slice(dir.length + 1));
    t.is(entry.first_seq, next, 'segments follow each other without a gap');
    t.is(entry.last_seq, seqs[seqs.length - 1]);
    t.is(entry.records, seqs.length);
    t.is(entry.bytes, readFileSync(segments[i]).length);
    t.is(entry.oldest, new Date(receivedAt(entry.first_seq)).toISOString());
    t.is(entry.newest, new Date(receivedAt(entry.last_seq)).toISOString());
    next = entry.last_seq + 1;
  }
  t.deepEqual(listing.total, {
    segments: segments.length,
    first_seq: 1,
    last_seq: RECORDS,
    records: RECORDS,
    bytes: listing.segments.reduce((sum, s) => sum + s.bytes, 0),
    oldest: new Date(receivedAt(1)).toISOString(),
    newest: new Date(receivedAt(RECORDS)).toISOString(),
  });

  const text = await gsCtl('vault', 'ls', dir);
  t.is(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.regex(lines[0], /^SEGMENT\s+FIRST SEQ\s+LAST SEQ\s+RECORDS\s+BYTES\s+OLDEST\s+NEWEST$/);
  for (const [i, entry] of listing.segments.entries()) {
    t.deepEqual(lines[i + 1].split(/\s+/), [entry.file, String(entry.first_seq), String(entry.last_seq), String(entry.records), String(entry.bytes), entry.oldest, entry.newest]);
  }
  t.is(lines.length, segments.length + 2);
  t.true(lines.at(-1)!.startsWith(`total: ${segments.length} segments, ${RECORDS} records, ${listing.total.bytes} bytes`), lines.at(-1));
});

test('vault verify passes a clean vault with exit 0', async (t) => {
  const { dir, segments } = writeVault(t);
  const text = await gsCtl('vault', 'verify', dir);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^ok: ${segments.length} segments, ${RECORDS} records`));
  const json = await gsCtl('vault', 'verify', '--json', dir);
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout), { clean: true, segments: segments.length, records: RECORDS, problems: [] });
});

test('vault verify reports a flipped byte and a torn tail with segment and offset, exit 1, and changes nothing', async (t) => {
  const { dir, segments } = writeVault(t);
  const damaged = segments[1];
  const bytes = readFileSync(damaged);
  // A payload byte of the segment's third record: its CRC fails, the records around it stay.
  const records: Array<{ offset: number; length: number }> = [];
  scanSegment(damaged, (r) => records.push({ offset: r.offset, length: r.payload.byteLength }));
  const victim = records[2];
  bytes[victim.offset + RECORD_HEADER_BYTES + 5] ^= 0x10;
  writeFileSync(damaged, bytes);
  // Half a record after the last one of the last segment, as a crash leaves it.
  const last = segments.at(-1)!;
  appendFileSync(last, readFileSync(last).subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 40));
  const before = snapshot(segments);

  const json = await gsCtl('vault', 'verify', '--json', dir);
  t.is(json.code, 1, json.stderr);
  const verdict = JSON.parse(json.stdout) as { clean: boolean; records: number; problems: Array<{ segment: string; offset: number; bytes: number; what: string }> };
  t.false(verdict.clean);
  t.is(verdict.records, RECORDS - 1);
  const name = (path: string): string => path.slice(dir.length + 1);
  t.deepEqual(verdict.problems[0], { segment: name(damaged), offset: victim.offset, bytes: records[3].offset - victim.offset, what: 'corrupt record skipped' });
  t.like(verdict.problems[1], { segment: name(last), what: 'torn tail' });
  t.is(verdict.problems.length, 2);

  const text = await gsCtl('vault', 'verify', dir);
  t.is(text.code, 1);
  t.true(text.stdout.includes(`${name(damaged)}  offset ${victim.offset}  corrupt record skipped`), text.stdout);
  t.true(text.stdout.includes(`${name(last)}  offset`), text.stdout);
  t.regex(text.stdout, /DAMAGED: 2 problems/);

  const listed = await gsCtl('vault', 'ls', '--json', dir);
  t.is(listed.code, 0);
  t.is((JSON.parse(listed.stdout) as LsJson).total.records, RECORDS - 1, 'ls counts good records only');
  t.deepEqual(snapshot(segments), before, 'neither ls nor verify cut or changed a byte');
});

test('a directory that is not there is a usage error (exit 2), not an empty vault', async (t) => {
  for (const command of ['ls', 'verify']) {
    const run = await gsCtl('vault', command, join(ROOT, 'var', 'no-such-vault'));
    t.is(run.code, 2, command);
    t.regex(run.stderr, /is not a directory/);
  }
  t.is((await gsCtl('vault', 'ls', '--bogus', ROOT)).code, 2, 'an unknown option too');
});

test('without DIR, ls and verify read the vault of --config, else that of the embedded defaults (./var/vault)', async (t) => {
  const { dir } = writeVault(t);
  const cwd = scratchDir('test-ctl-vault-cwd-');
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  mkdirSync(join(cwd, 'var'));
  symlinkSync(dir, join(cwd, 'var', 'vault'));
  const config = join(cwd, 'gophership.yaml');
  writeFileSync(config, `vault:\n  dir: ${dir}\n`);
  for (const args of [[], ['--config', config]]) {
    const listed = await gsCtlIn(cwd, 'vault', 'ls', '--json', ...args);
    t.is(listed.code, 0, listed.stderr);
    t.is((JSON.parse(listed.stdout) as LsJson).total.records, RECORDS, args.join(' '));
    const verified = await gsCtlIn(cwd, 'vault', 'verify', ...args);
    t.is(verified.code, 0, verified.stderr);
  }
  const nowhere = await gsCtlIn(join(cwd, 'var'), 'vault', 'ls');
  t.is(nowhere.code, 2);
  t.regex(nowhere.stderr, /var\/var\/vault is not a directory \(vault\.dir of the embedded defaults, no --config; pass DIR or --config FILE\)/);
  t.is((await gsCtl('vault', 'ls', '--config', config, dir)).code, 2, 'DIR and --config together');
});

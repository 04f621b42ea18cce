import test from 'ava';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaultCorruptError } from '../src/common/errors';
import { setLogLevel } from '../src/common/log';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, framedBytes } from '../src/vault/segment-format';
import { recoverSegment, scanSegment } from '../src/vault/segment-reader';
import { SegmentWriter } from '../src/vault/segment-writer';
import { randomInt, randomRecord, readVault, sameRecord, seededRandom, segmentFiles, vaultDir, type StoredRecord } from './fixtures/vault-records';

// Every test here damages segments on purpose; recovery's warnings about them are expected.
setLogLevel('error');

/** One closed segment of a few hundred random records, its bytes, and what a reader finds in it. */
function writeSegment(dir: string, seed: number): { bytes: Buffer; records: StoredRecord[] } {
  const source = join(dir, 'source');
  const random = seededRandom(seed);
  const writer = new SegmentWriter({ dir: source, alignment: 512, segmentBytes: 1024 * 1024, sync: 'never' });
  for (let i = 0; i < 300; i++) writer.append(randomRecord(random, 12_000));
  writer.close();
  const [file] = segmentFiles(source);
  return { bytes: readFileSync(file), records: readVault(source).records };
}

function end(record: StoredRecord): number {
  return record.offset + RECORD_HEADER_BYTES + record.payload.byteLength;
}

function seqs(records: readonly StoredRecord[]): number[] {
  return records.map((r) => r.seq);
}

test('a tail cut at any point is truncated back to the last whole record; every record before it stays', (t) => {
  const dir = vaultDir(t);
  const { bytes, records } = writeSegment(dir, 21);
  const random = seededRandom(22);
  const cuts = [0, 100, SEGMENT_HEADER_BYTES - 1, SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 5, end(records[0]) - 1, end(records[0]) + 3];
  while (cuts.length < 60) cuts.push(randomInt(random, SEGMENT_HEADER_BYTES, bytes.length));

  for (const [i, cut] of cuts.entries()) {
    const file = join(dir, `cut-${i}.gsv`);
    writeFileSync(file, bytes.subarray(0, cut));
    const kept = cut < SEGMENT_HEADER_BYTES ? [] : records.filter((r) => end(r) <= cut);
    const last = kept.at(-1);
    const validEnd = cut < SEGMENT_HEADER_BYTES ? 0 : last === undefined ? SEGMENT_HEADER_BYTES : Math.min(last.offset + framedBytes(last.payload.byteLength), cut);

    const recovered = recoverSegment(file);
    t.is(recovered.records, kept.length, `cut at ${cut}`);
    t.is(recovered.bytes, validEnd, `cut at ${cut}`);
    t.is(recovered.truncatedBytes, cut - validEnd);
    t.is(recovered.corruptSkipped, 0);
    t.is(recovered.lastSeq, last?.seq ?? 0);
    t.is(statSync(file).size, validEnd, 'the file was cut back');

    const again: StoredRecord[] = [];
    const scan = scanSegment(file, (r) => again.push({ ...r, payload: r.payload.slice(), segment: file }));
    t.deepEqual(seqs(again), seqs(kept));
    t.true(again.every((r, k) => sameRecord(r, kept[k])));
    t.is(scan.tail, 'clean');
    t.is(recoverSegment(file).truncatedBytes, 0, 'recovery is idempotent');
  }
});

test('a damaged record in the middle is skipped and counted; every other record is kept', (t) => {
  const dir = vaultDir(t);
  const { bytes, records } = writeSegment(dir, 31);
  const random = seededRandom(32);
  for (let round = 0; round < 40; round++) {
    const victim = randomInt(random, 0, records.length - 2);
    const target = records[victim];
    // Any byte the CRC covers or the framing depends on: magic, crc, header fields, payload.
    const at = randomInt(random, target.offset, end(target) - 1);
    const damaged = Buffer.from(bytes);
    damaged[at] ^= randomInt(random, 1, 255);
    const file = join(dir, `flip-${round}.gsv`);
    writeFileSync(file, damaged);

    const seen: number[] = [];
    const scan = scanSegment(file, (r) => seen.push(r.seq));
    t.deepEqual(
      seen,
      seqs(records.filter((_, k) => k !== victim)),
      `byte ${at} of record ${target.seq}`,
    );
    t.is(scan.corruptSkipped, 1);
    t.is(scan.skippedBytes, records[victim + 1].offset - target.offset);
    t.is(scan.tail, 'clean');
    const recovered = recoverSegment(file);
    t.is(recovered.records, records.length - 1);
    t.is(recovered.corruptSkipped, 1);
  }
});

test('a zeroed block (a write that never reached the device) loses only the records it touches', (t) => {
  const dir = vaultDir(t);
  const { bytes, records } = writeSegment(dir, 41);
  const holeStart = 512 * 40;
  const holeEnd = holeStart + 2048;
  const damaged = Buffer.from(bytes);
  damaged.fill(0, holeStart, holeEnd);
  const file = join(dir, 'hole.gsv');
  writeFileSync(file, damaged);

  const seen: number[] = [];
  const scan = scanSegment(file, (r) => seen.push(r.seq));
  const untouched = records.filter((r) => end(r) <= holeStart || r.offset >= holeEnd);
  t.deepEqual(seen, seqs(untouched));
  t.is(scan.corruptSkipped, 1);
});

test('a damaged last record is a torn tail: cut off, the rest kept', (t) => {
  const dir = vaultDir(t);
  const { bytes, records } = writeSegment(dir, 51);
  const last = records.at(-1)!;
  const damaged = Buffer.from(bytes);
  damaged[last.offset + RECORD_HEADER_BYTES - 1] ^= 0x40;
  const file = join(dir, 'torn.gsv');
  writeFileSync(file, damaged);

  const recovered = recoverSegment(file);
  t.is(recovered.tail, 'torn');
  t.is(recovered.records, records.length - 1);
  t.is(recovered.bytes, last.offset);
  t.is(recovered.corruptSkipped, 0);
  t.is(statSync(file).size, last.offset);
});

test('a damaged segment header is an error, unless nothing follows it (creation cut short)', (t) => {
  const dir = vaultDir(t);
  const { bytes } = writeSegment(dir, 61);
  const damaged = Buffer.from(bytes);
  damaged[20] ^= 1;
  const file = join(dir, 'bad-header.gsv');
  writeFileSync(file, damaged);
  t.throws(() => scanSegment(file), { instanceOf: VaultCorruptError, code: 'GS_VAULT_CORRUPT', message: /checksum/ });
  t.throws(() => recoverSegment(file), { instanceOf: VaultCorruptError });
  t.is(statSync(file).size, damaged.length, 'recovery left the file alone');

  writeFileSync(file, Buffer.from('not a vault segment at all'.repeat(200)));
  t.throws(() => scanSegment(file), { instanceOf: VaultCorruptError, message: /bad magic/ });

  const halfHeader = Buffer.alloc(SEGMENT_HEADER_BYTES);
  bytes.copy(halfHeader, 0, 0, 1024);
  writeFileSync(file, halfHeader);
  const scan = scanSegment(file);
  t.is(scan.header, null);
  t.is(scan.records, 0);
  t.is(scan.tail, 'torn');
  t.is(recoverSegment(file).truncatedBytes, SEGMENT_HEADER_BYTES);
  t.is(statSync(file).size, 0);
  t.is(recoverSegment(file).records, 0, 'an empty file is an empty segment');
});

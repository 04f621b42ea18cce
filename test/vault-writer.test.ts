import test from 'ava';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidArgumentError, VaultClosedError, VaultFullError, VaultIoError } from '../src/common/errors';
import { RecordKind } from '../src/common/record-kind';
import { SEGMENT_HEADER_BYTES, alignUp, framedBytes, segmentFileName, type VaultInput } from '../src/vault/segment-format';
import { scanSegment } from '../src/vault/segment-reader';
import { SegmentWriter } from '../src/vault/segment-writer';
import { randomRecord, readVault, recordFor, sameRecord, seededRandom, segmentFiles, vaultDir } from './fixtures/vault-records';

const KiB = 1024;

/** How the records read back from `dir` differ from `sent` (seqs from 1): empty when they do not. */
function differences(sent: readonly VaultInput[], dir: string): string[] {
  const { records } = readVault(dir);
  const wrong = records.flatMap((r, i) => (r.seq === i + 1 && sameRecord(r, sent[i]) ? [] : [`record ${i} (seq ${r.seq})`]));
  return records.length === sent.length ? wrong : [`read ${records.length} records, wrote ${sent.length}`, ...wrong];
}

test('records of random sizes come back identical and in order across many segment rolls', (t) => {
  const dir = vaultDir(t);
  const random = seededRandom(7);
  // A staging buffer smaller than the large records makes them span several writes.
  const writer = new SegmentWriter({ dir, segmentBytes: 256 * KiB, bufferBytes: 16 * KiB, sync: 'never' });
  const sent: VaultInput[] = [];
  for (let i = 0; i < 4000; i++) {
    const record = randomRecord(random);
    t.true(writer.append(record));
    sent.push(record);
    if (random() < 0.05) writer.flush();
  }
  writer.close();

  t.true(writer.directIo, 'var/ takes O_DIRECT');
  t.is(writer.lastSeq, 4000);
  t.is(writer.recordsWritten, 4000);
  const files = segmentFiles(dir);
  t.true(files.length >= 5, `${files.length} segments`);
  t.deepEqual(differences(sent, dir), []);
  const { records, scans } = readVault(dir);
  for (const [i, scan] of scans.entries()) {
    t.is(scan.corruptSkipped, 0);
    t.is(scan.tail, 'clean');
    t.true(scan.validEnd <= 256 * KiB);
    t.is(basename(files[i]), segmentFileName(scan.header!.firstSeq));
    t.is(records.find((r) => r.segment === files[i])?.seq, scan.header!.firstSeq, 'a segment is named by its first seq');
  }
  t.is(writer.bytesWritten, files.length * SEGMENT_HEADER_BYTES + sent.reduce((sum, r) => sum + framedBytes(r.payload.byteLength), 0));
});

test('group commit: one aligned write carries many records; the tail block is rewritten in place', (t) => {
  const dir = vaultDir(t);
  const writer = new SegmentWriter({ dir, alignment: 512, bufferBytes: 256 * KiB });
  const sent: VaultInput[] = [];
  const append = (record: VaultInput): void => {
    t.true(writer.append(record));
    sent.push(record);
  };
  for (let seq = 1; seq <= 100; seq++) append(recordFor(seq));
  t.is(writer.writeCalls, 1, 'only the segment header has been written');
  t.is(writer.flushedSeq, 0);
  writer.flush();
  t.is(writer.writeCalls, 2, '100 records in one write');
  t.is(writer.syncedSeq, 100);

  const path = writer.segmentPath!;
  const random = seededRandom(3);
  for (let round = 0; round < 60; round++) {
    const size = statSync(path).size;
    t.is(size % 512, 0, 'the file only ever grows by whole blocks');
    t.is(size, alignUp(writer.logicalEnd, 512));
    const bytes = readFileSync(path);
    t.true(bytes.subarray(writer.logicalEnd).every((b) => b === 0), 'past the logical end there are only zeros');
    const scan = scanSegment(path);
    t.is(scan.records, sent.length);
    t.is(scan.validEnd, writer.logicalEnd);
    t.is(scan.tail, 'clean');
    // Small batches keep the logical end inside the same block now and then, which only a
    // rewrite of that block at the same offset can get to disk.
    const batch = Math.floor(random() * 4);
    for (let i = 0; i < batch; i++) append({ ...recordFor(sent.length + 1), payload: new Uint8Array(Math.floor(random() * 200)) });
    writer.flush();
  }
  writer.close();
  t.deepEqual(differences(sent, dir), []);
});

test('a record larger than segmentBytes gets a segment of its own', (t) => {
  const dir = vaultDir(t);
  const writer = new SegmentWriter({ dir, segmentBytes: 16 * KiB, bufferBytes: 8 * KiB });
  const sent = [recordFor(1), { ...recordFor(2), payload: new Uint8Array(100 * KiB).fill(7) }, recordFor(3)];
  for (const record of sent) t.true(writer.append(record));
  writer.close();
  t.deepEqual(segmentFiles(dir).map((f) => basename(f)), [1, 2, 3].map(segmentFileName));
  t.deepEqual(differences(sent, dir), []);
});

test('appendBatch: batches handed in at once are staged in turn while writes are in flight, and come back identical and in order', async (t) => {
  const dir = vaultDir(t);
  const random = seededRandom(11);
  // Small buffers and segments: batches span several writes and rolls happen inside them.
  const writer = new SegmentWriter({ dir, segmentBytes: 128 * KiB, bufferBytes: 16 * KiB, buffers: 3, sync: 'always' });
  const sent: VaultInput[] = [];
  const rings = Array.from({ length: 3 }, async () => {
    for (let n = 0; n < 40; n++) {
      const batch = Array.from({ length: 1 + Math.floor(random() * 30) }, () => randomRecord(random));
      // Handed in synchronously after the previous one settled: staging order is call order.
      sent.push(...batch);
      const last = sent.length;
      await writer.appendBatch(batch);
      t.true(writer.syncedSeq >= last, 'a batch settles only once its records are synced');
    }
  });
  await Promise.all(rings);
  await writer.closeAsync();
  t.true(writer.directIo);
  t.is(writer.lastSeq, sent.length);
  t.true(segmentFiles(dir).length >= 3, 'rolled');
  t.deepEqual(differences(sent, dir), []);
  const { scans } = readVault(dir);
  t.true(scans.every((s) => s.corruptSkipped === 0 && s.tail === 'clean'));
  await t.throwsAsync(writer.appendBatch([recordFor(1)]), { instanceOf: VaultClosedError });
});

test('appendBatch: a batch past maxBytes is refused whole with GS_VAULT_FULL, and a one-buffer writer cannot pipeline', async (t) => {
  const dir = vaultDir(t);
  const writer = new SegmentWriter({ dir, segmentBytes: 12 * KiB, bufferBytes: 8 * KiB, buffers: 2, maxBytes: 40 * KiB, sync: 'never' });
  const batch = Array.from({ length: 20 }, (_, i) => ({ ...recordFor(i + 1), payload: new Uint8Array(300) }));
  await writer.appendBatch(batch);
  t.is(writer.lastSeq, 20);
  await t.throwsAsync(writer.appendBatch(Array.from({ length: 200 }, () => batch[0])), { instanceOf: VaultFullError, code: 'GS_VAULT_FULL' });
  t.is(writer.lastSeq, 20, 'nothing of the refused batch was appended');
  await writer.appendBatch(batch.slice(0, 5));
  await writer.closeAsync();
  t.is(readVault(dir).records.length, 25);
  const single = new SegmentWriter({ dir: join(dir, 'single') });
  await t.throwsAsync(single.appendBatch([recordFor(1)]), { instanceOf: InvalidArgumentError });
});

test('maxBytes makes append refuse instead of deleting anything', (t) => {
  const dir = vaultDir(t);
  const maxBytes = 40 * KiB;
  const writer = new SegmentWriter({ dir, segmentBytes: 12 * KiB, bufferBytes: 8 * KiB, maxBytes, sync: 'never' });
  const record = (seq: number): VaultInput => ({ ...recordFor(seq), payload: new Uint8Array(300).fill(seq & 0xff) });
  let accepted = 0;
  while (writer.append(record(accepted + 1))) accepted++;
  t.true(accepted > 50, `${accepted} accepted`);
  t.false(writer.append(record(accepted + 1)), 'still refused');
  t.is(writer.lastSeq, accepted, 'a refused record takes no seq');
  writer.flush();
  const onDisk = segmentFiles(dir).reduce((sum, f) => sum + statSync(f).size, 0);
  t.is(onDisk, writer.diskBytes);
  t.true(onDisk <= maxBytes, `${onDisk} bytes on disk`);
  t.true(onDisk > maxBytes - 12 * KiB, 'the bound is used up, not left mostly empty');

  const first = segmentFiles(dir)[0];
  writer.releaseBytes(statSync(first).size);
  t.true(writer.append(record(accepted + 1)), 'room again once replayed segments are released');
  writer.close();
  t.true(statSync(first).isFile(), 'the writer deleted nothing');
  t.is(readVault(dir).records.length, accepted + 1);
});

test('with directIo false the buffered path writes the same bytes', (t) => {
  const direct = vaultDir(t);
  const buffered = vaultDir(t);
  const writers = [new SegmentWriter({ dir: direct, segmentBytes: 64 * KiB, bufferBytes: 8 * KiB }), new SegmentWriter({ dir: buffered, segmentBytes: 64 * KiB, bufferBytes: 8 * KiB, directIo: false })];
  const random = seededRandom(11);
  const sent: VaultInput[] = [];
  for (let i = 0; i < 500; i++) {
    const record = randomRecord(random, 20_000);
    sent.push(record);
    for (const w of writers) t.true(w.append(record));
    if (i % 37 === 0) for (const w of writers) w.flush();
  }
  for (const w of writers) w.close();
  t.true(writers[0].directIo);
  t.false(writers[1].directIo);
  t.is(writers[1].writeCalls, writers[0].writeCalls);

  const names = segmentFiles(direct).map((f) => basename(f));
  t.deepEqual(segmentFiles(buffered).map((f) => basename(f)), names);
  for (const name of names) {
    const a = readFileSync(join(direct, name));
    const b = readFileSync(join(buffered, name));
    t.is(b.length % 4096, 0);
    // Headers differ only in their creation time; everything after them must match.
    t.deepEqual(b.subarray(SEGMENT_HEADER_BYTES), a.subarray(SEGMENT_HEADER_BYTES));
  }
  t.deepEqual(differences(sent, buffered), []);
  const { records } = readVault(buffered, { directIo: false });
  t.is(records.length, sent.length, 'the reader has a buffered path too');
});

test('sync policies: always syncs on flush, interval when due, never not at all', (t) => {
  const dir = vaultDir(t);
  const always = new SegmentWriter({ dir: join(dir, 'always') });
  always.append(recordFor(1));
  always.flush();
  t.is(always.syncedSeq, 1);
  always.close();

  const never = new SegmentWriter({ dir: join(dir, 'never'), sync: 'never' });
  never.append(recordFor(1));
  never.flush();
  t.is(never.flushedSeq, 1);
  t.is(never.syncedSeq, 0);
  never.close();

  const interval = new SegmentWriter({ dir: join(dir, 'interval'), sync: 'interval', syncIntervalMs: 60_000 });
  interval.append(recordFor(1));
  interval.flush();
  t.is(interval.syncedSeq, 1, 'the first sync is due at once');
  interval.append(recordFor(2));
  interval.flush();
  t.is(interval.flushedSeq, 2);
  t.is(interval.syncedSeq, 1, 'the next waits for the interval');
  t.false(interval.syncIfDue(Date.now()));
  t.true(interval.syncIfDue(Date.now() + 60_000));
  t.is(interval.syncedSeq, 2);
  t.false(interval.syncIfDue(Date.now() + 120_000), 'nothing new to sync');
  interval.close();
});

test('a segment that holds records is never overwritten; one without records is taken over', (t) => {
  const dir = vaultDir(t);
  const first = new SegmentWriter({ dir });
  first.append(recordFor(1));
  first.close();

  const clash = new SegmentWriter({ dir, firstSeq: 1 });
  t.throws(() => clash.append(recordFor(1)), { instanceOf: VaultIoError, message: /already exists and holds records/ });
  t.throws(() => clash.append(recordFor(1)), { instanceOf: VaultIoError, message: /failed earlier/ }, 'the writer stays failed');
  t.is(readVault(dir).records.length, 1);

  // What a crash between creating a segment and its first record leaves behind.
  writeFileSync(join(dir, segmentFileName(2)), new Uint8Array(SEGMENT_HEADER_BYTES));
  const next = new SegmentWriter({ dir, firstSeq: 2 });
  t.true(next.append(recordFor(2)));
  next.close();
  t.deepEqual(
    readVault(dir).records.map((r) => r.seq),
    [1, 2],
  );
});

test('misuse is refused with stable error codes', (t) => {
  const dir = vaultDir(t);
  const writer = new SegmentWriter({ dir });
  t.throws(() => writer.append({ ...recordFor(1), kind: 9 as RecordKind }), { instanceOf: InvalidArgumentError });
  t.throws(() => writer.append({ ...recordFor(1), flags: 256 }), { instanceOf: InvalidArgumentError });
  t.is(writer.segmentPath, null, 'nothing was created for refused records');
  writer.close();
  writer.close();
  t.throws(() => writer.append(recordFor(1)), { instanceOf: VaultClosedError, code: 'GS_VAULT_CLOSED' });
  t.throws(() => new SegmentWriter({ dir, bufferBytes: 5000 }), { instanceOf: InvalidArgumentError });
  t.throws(() => new SegmentWriter({ dir, alignment: 256 }), { instanceOf: InvalidArgumentError });
});

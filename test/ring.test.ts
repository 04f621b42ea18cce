import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RING_HEADER_BYTES, Ring, openRing } from '../src/common/ring';
import { RecordFlag, RecordKind } from '../src/common/record-kind';

function ringOf(capacity: number): Ring {
  return new Ring(new ArrayBuffer(RING_HEADER_BYTES + capacity), capacity);
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 31) & 0xff;
  return b;
}

test('a record comes out as it went in, with kind, flags and receive time', (t) => {
  const ring = ringOf(4096);
  const w = ring.writer();
  const r = ring.reader();
  t.true(w.offer(RecordKind.OtlpGrpc, RecordFlag.Gzip, [bytes(10, 1), bytes(5, 2)], 15, 1234.5));
  const rec = r.next();
  t.truthy(rec);
  t.is(rec!.kind, RecordKind.OtlpGrpc);
  t.is(rec!.flags, RecordFlag.Gzip);
  t.is(rec!.receivedMs, 1234.5);
  t.deepEqual([...rec!.payload], [...bytes(10, 1), ...bytes(5, 2)]);
  t.is(r.next(), null);
});

test('space is reused only after commit', (t) => {
  const ring = ringOf(4096);
  const w = ring.writer();
  const r = ring.reader();
  let written = 0;
  while (w.offer(RecordKind.Lines, 0, [bytes(496, written)], 496)) written++;
  t.is(written, 8, 'eight 512-byte records (16-byte header) fill 4 KiB');
  t.is(ring.used(), ring.capacity, 'full to the last byte');
  t.truthy(r.next());
  t.false(w.offer(RecordKind.Lines, 0, [bytes(496, 0)], 496), 'reading without commit frees nothing');
  r.commit();
  t.true(w.offer(RecordKind.Lines, 0, [bytes(496, 0)], 496));
});

test('records wrap around the end of the data area and stay contiguous', (t) => {
  const ring = ringOf(4096);
  const w = ring.writer();
  const r = ring.reader();
  for (let i = 0; i < 2000; i++) {
    const n = 1 + ((i * 97) % 1500);
    t.true(w.offer(RecordKind.OtlpGrpc, 0, [bytes(n, i)], n), `record ${i} fits in an emptied ring`);
    const rec = r.next();
    t.deepEqual(rec?.payload, bytes(n, i));
    t.is(r.next(), null);
    r.commit();
  }
  t.is(ring.used(), 0);
});

test('a record larger than half the ring is refused, never split', (t) => {
  const ring = ringOf(4096);
  t.false(ring.writer().offer(RecordKind.OtlpGrpc, 0, [bytes(2048, 0)], 2048));
  t.is(ring.maxPayload(), 2048 - 16);
  t.true(ring.writer().offer(RecordKind.OtlpGrpc, 0, [bytes(2032, 0)], 2032));
});

test('rewind hands out the uncommitted records again', (t) => {
  const ring = ringOf(4096);
  const w = ring.writer();
  const r = ring.reader();
  w.offer(RecordKind.Lines, 0, [bytes(3, 1)], 3);
  w.offer(RecordKind.Lines, 0, [bytes(3, 2)], 3);
  r.next();
  r.commit();
  t.deepEqual(r.next()?.payload, bytes(3, 2));
  r.rewind();
  t.deepEqual(r.next()?.payload, bytes(3, 2));
});

test('a reader that prepares to sleep is told when a record is already there', (t) => {
  const ring = ringOf(4096);
  const rung: number[] = [];
  const w = ring.writer(() => rung.push(1));
  const r = ring.reader();
  t.true(r.prepareToSleep());
  w.offer(RecordKind.Lines, 0, [bytes(1, 0)], 1);
  t.is(rung.length, 1, 'the publish rang the sleeping reader');
  w.offer(RecordKind.Lines, 0, [bytes(1, 0)], 1);
  t.is(rung.length, 1, 'an awake reader is not rung again');
  t.false(r.prepareToSleep(), 'records are waiting');
});

test('a length that disagrees with the chunks is a programming error', (t) => {
  const ring = ringOf(4096);
  t.throws(() => ring.writer().offer(RecordKind.Lines, 0, [bytes(3, 0)], 4), { instanceOf: RangeError });
});

test('a commit reports a writer waiting for it once, and only when one asked', (t) => {
  const ring = ringOf(4096);
  const w = ring.writer();
  const r = ring.reader();
  w.offer(RecordKind.Lines, 0, [bytes(8, 0)], 8);
  r.next();
  t.false(r.commit(), 'nobody asked');
  w.offer(RecordKind.Lines, 0, [bytes(8, 1)], 8);
  ring.wantCommitBell();
  r.next();
  t.true(r.commit(), 'the waiting writer is to be rung');
  t.false(r.commit(), 'one ring per request');
  t.is(ring.head(), w.published);
});

test('an empty ring takes a new size at open; one holding records keeps its size and its records', (t) => {
  const dir = mkdtempSync('/dev/shm/gs-ring-resize-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty.ring');
  openRing(empty, 64 * 1024);
  t.is(openRing(empty, 16 * 1024).capacity, 16 * 1024);
  t.is(statSync(empty).size, RING_HEADER_BYTES + 16 * 1024, 'the file shrinks with it');

  const held = join(dir, 'held.ring');
  openRing(held, 64 * 1024).writer().offer(RecordKind.Lines, 0, [bytes(5, 9)], 5);
  const reopened = openRing(held, 16 * 1024);
  t.is(reopened.capacity, 64 * 1024);
  t.deepEqual(reopened.reader().next()?.payload, bytes(5, 9));
});

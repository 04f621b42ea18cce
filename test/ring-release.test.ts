import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RING_HEADER_BYTES, openRing } from '../src/common/ring';
import { RecordKind } from '../src/common/record-kind';

const CAPACITY = 1024 * 1024;

/** Bytes the tmpfs file really holds in memory (st_blocks counts 512-byte units). */
function resident(path: string): number {
  return statSync(path).blocks * 512;
}

function withRing(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync('/dev/shm/gs-test-release-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'green-0.ring');
}

test('an idle writer gives the free part of its ring back to tmpfs, and the ring goes on working', (t) => {
  const path = withRing(t);
  const ring = openRing(path, CAPACITY);
  const w = ring.writer();
  const r = ring.reader();
  const payload = new Uint8Array(4000).fill(7);
  // A burst touches every page, then the reader handles it all.
  let n = 0;
  while (w.offer(RecordKind.Lines, 0, [payload], payload.length)) n++;
  while (r.next() !== null);
  r.commit();
  t.true(resident(path) >= CAPACITY, 'the burst left the ring resident');

  const released = w.releaseFree();
  t.true(released >= CAPACITY - 8192, `released ${released}`);
  t.true(resident(path) <= RING_HEADER_BYTES + 8192, `${resident(path)} bytes left resident`);

  // Records written after the release read back intact, across the wrap.
  for (let round = 0; round < 3 * n; round++) {
    const body = new Uint8Array(4000).fill(round & 0xff);
    t.true(w.offer(RecordKind.Lines, 0, [body], body.length));
    const rec = r.next();
    t.deepEqual(rec?.payload, body);
    r.commit();
  }
});

test('what the reader has not handled is never released', (t) => {
  const path = withRing(t);
  const ring = openRing(path, CAPACITY);
  const w = ring.writer();
  const r = ring.reader();
  const records: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const body = new Uint8Array(3000).fill(i);
    records.push(body);
    t.true(w.offer(RecordKind.Lines, 0, [body], body.length));
  }
  // Half read and committed, half still waiting.
  for (let i = 0; i < 50; i++) r.next();
  r.commit();
  t.true(w.releaseFree() > 0);
  for (let i = 50; i < 100; i++) t.deepEqual(r.next()?.payload, records[i], `record ${i}`);
  t.is(r.next(), null);
});

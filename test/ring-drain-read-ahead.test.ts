import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { commitBellPath, doorbellPath } from '../src/common/doorbell';
import { createLogger } from '../src/common/log';
import { mkfifo } from '../src/common/native';
import { RecordKind } from '../src/common/record-kind';
import { openRing, type Ring, type RingRecord } from '../src/common/ring';
import { RingDrain } from '../src/common/ring-drain';

function ringWithBells(t: { teardown(fn: () => void): void }, capacity = 64 * 1024): { path: string; ring: Ring } {
  const dir = mkdtempSync('/dev/shm/gs-test-read-ahead-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'green-0.ring');
  const ring = openRing(path, capacity);
  for (const bell of [doorbellPath(path), commitBellPath(path)]) mkfifo(bell, 0o600);
  return { path, ring };
}

const payload = (i: number): Uint8Array => Buffer.from(`record-${i}`);

/** A batch handed to the handler, settled by the test. */
interface Out {
  records: string[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A drain with read-ahead whose handler hands each batch to the test; `handed(n)` waits until n batches went out in all. */
function controlledDrain(t: { teardown(fn: () => void): void }, path: string, records: number, inFlight = 2) {
  const out: Out[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const drain = new RingDrain(new Map([['green-0', path]]), (_ring, batch: readonly RingRecord[]) => {
    const records = batch.map((r) => Buffer.from(r.payload).toString());
    const pending = new Promise<void>((resolve, reject) => out.push({ records, resolve, reject }));
    for (const w of waiters.filter((w) => out.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    return pending;
  }, createLogger('test'), { records, bytes: 1 << 20, inFlight });
  t.teardown(() => drain.close());
  const handed = (n: number): Promise<void> => (out.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { drain, out, handed };
}

/** A ring holding records 0..n-1, and the bytes they take. */
function filledRing(t: { teardown(fn: () => void): void }, n: number): { path: string; ring: Ring; full: number } {
  const { path, ring } = ringWithBells(t);
  const writer = ring.writer();
  for (let i = 0; i < n; i++) writer.offer(RecordKind.OtlpGrpc, 0, [payload(i)], payload(i).byteLength);
  return { path, ring, full: ring.used() };
}

/** Lets the drain's pass (setImmediate) and the promise callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

test('the next batch goes out while the first is in flight; the head moves in order, only when the first is done', async (t) => {
  const { path, ring, full } = filledRing(t, 7);
  const { drain, out, handed } = controlledDrain(t, path, 3);
  drain.start();

  await handed(2);
  t.deepEqual(out.map((o) => o.records), [['record-0', 'record-1', 'record-2'], ['record-3', 'record-4', 'record-5']]);
  await turn();
  t.is(out.length, 2, 'no more than two batches out at once');
  out[1].resolve();
  await turn();
  t.is(ring.used(), full, 'the second batch done alone commits nothing');
  t.is(out.length, 2, 'and the bound still counts it until it is committed');
  out[0].resolve();
  await handed(3);
  t.deepEqual(out[2].records, ['record-6']);
  t.true(ring.used() < full && ring.used() > 0, 'both committed, the third still held');
  out[2].resolve();
  await drain.untilIdle();
  t.is(ring.used(), 0);
});

test('a failed first batch with a finished second: nothing is committed, and both are offered again in order', async (t) => {
  const { path, ring, full } = filledRing(t, 6);
  const { drain, out, handed } = controlledDrain(t, path, 3);
  drain.start();

  await handed(2);
  out[1].resolve();
  out[0].reject(new Error('downstream away'));
  await handed(3);
  t.is(ring.used(), full, 'the head did not move over the failed batch, nor over the one after it');
  t.deepEqual(out[2].records, out[0].records, 'offered again from the first uncommitted record');
  await handed(4);
  t.deepEqual(out[3].records, out[1].records, 'the finished second batch goes again after it (at least once)');
  out[3].resolve();
  await turn();
  t.is(ring.used(), full, 'still in order on the retry');
  out[2].resolve();
  await drain.untilIdle();
  t.is(ring.used(), 0);
});

test('a batch that fails while the one before it is still out waits for it: the earlier one commits, the rest is offered again', async (t) => {
  const { path, ring } = filledRing(t, 6);
  const { drain, out, handed } = controlledDrain(t, path, 3);
  drain.start();

  await handed(2);
  out[1].reject(new Error('downstream away'));
  await turn();
  t.is(out.length, 2, 'nothing new is taken while a failure has batches out');
  out[0].resolve();
  await handed(3);
  t.deepEqual(out[2].records, ['record-3', 'record-4', 'record-5']);
  out[2].resolve();
  await drain.untilIdle();
  t.is(ring.used(), 0);
});

test('an abort mid-flight leaves every batch not acknowledged in the ring, and a finished one committed', async (t) => {
  const { path, ring, full } = filledRing(t, 6);
  const { drain, out, handed } = controlledDrain(t, path, 3);
  drain.start();

  await handed(2);
  drain.close();
  // The first was acknowledged as the shutdown came: a successor must not send it again.
  out[0].resolve();
  out[1].reject(new Error('exporter shutting down'));
  await turn();
  t.is(out.length, 2, 'nothing is offered again after close');
  const left = ring.used();
  t.true(left > 0 && left < full);

  // A successor starts at the head: exactly the unacknowledged batch.
  const successor = controlledDrain(t, path, 10);
  successor.drain.start();
  await successor.handed(1);
  t.deepEqual(successor.out[0].records, ['record-3', 'record-4', 'record-5']);
});

test('across the ring wrapping, batches finishing out of order deliver every record once and in order of commit', async (t) => {
  // Records of about 6 KiB in a 64 KiB ring: the ring wraps every ten records or so, inside batches and between them.
  const { path, ring } = ringWithBells(t, 64 * 1024);
  const writer = ring.writer();
  const total = 200;
  const big = (i: number): Uint8Array => Buffer.concat([payload(i), Buffer.alloc(6000 - String(i).length)]);
  const { drain, out } = controlledDrain(t, path, 3);
  drain.start();

  const delivered: string[] = [];
  let settled = 0;
  let written = 0;
  const bounded = Date.now() + 20_000;
  while ((written < total || delivered.length < total) && Date.now() < bounded) {
    while (written < total && writer.offer(RecordKind.OtlpGrpc, 0, [big(written)], big(written).byteLength)) written++;
    // Settle the two batches out, the later one first.
    if (out.length - settled >= 2 || (written === total && out.length > settled)) {
      const batches = out.slice(settled);
      for (const b of [...batches].reverse()) b.resolve();
      for (const b of batches) delivered.push(...b.records.map((r) => r.split('\0')[0]));
      settled = out.length;
    }
    await turn();
  }
  t.is(written, total);
  t.deepEqual(delivered, Array.from({ length: total }, (_, i) => `record-${i}`));
  await drain.untilIdle();
  t.is(ring.used(), 0);
});

test('without inFlight a drain keeps one batch out at a time (the vault)', async (t) => {
  const { path, ring } = filledRing(t, 6);
  const { drain, out, handed } = controlledDrain(t, path, 3, 1);
  drain.start();
  await handed(1);
  await turn();
  t.is(out.length, 1);
  out[0].resolve();
  await handed(2);
  out[1].resolve();
  await drain.untilIdle();
  t.is(ring.used(), 0);
});

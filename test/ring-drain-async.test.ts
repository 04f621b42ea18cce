import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { commitBellPath, doorbellPath } from '../src/common/doorbell';
import { createLogger } from '../src/common/log';
import { mkfifo } from '../src/common/native';
import { RecordKind } from '../src/common/record-kind';
import { openRing, type Ring, type RingRecord } from '../src/common/ring';
import { RingDrain } from '../src/common/ring-drain';

function ringWithBells(t: { teardown(fn: () => void): void }): { path: string; ring: Ring } {
  const dir = mkdtempSync('/dev/shm/gs-test-drain-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'green-0.ring');
  const ring = openRing(path, 64 * 1024);
  for (const bell of [doorbellPath(path), commitBellPath(path)]) mkfifo(bell, 0o600);
  return { path, ring };
}

const payload = (i: number): Uint8Array => Buffer.from(`record-${i}`);

test('an asynchronous handler holds its batch in the ring until it resolves; a rejection hands the same records out again', async (t) => {
  const { path, ring } = ringWithBells(t);
  const writer = ring.writer();
  for (let i = 0; i < 5; i++) writer.offer(RecordKind.OtlpGrpc, 0, [payload(i)], payload(i).byteLength);
  const used = ring.used();

  const seen: string[][] = [];
  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let onHanded: () => void = () => {};
  const handed = (): Promise<void> => new Promise((resolve) => (onHanded = resolve));
  let next = handed();
  const drain = new RingDrain(new Map([['green-0', path]]), (_ring, batch: readonly RingRecord[]) => {
    seen.push(batch.map((r) => Buffer.from(r.payload).toString()));
    const pending = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    onHanded();
    return pending;
  }, createLogger('test'), { records: 100, bytes: 1 << 20 });
  t.teardown(() => drain.close());
  drain.start();

  await next;
  t.is(ring.used(), used, 'nothing is committed while the handler is pending');
  writer.offer(RecordKind.OtlpGrpc, 0, [payload(5)], payload(5).byteLength);
  // untilIdle wakes the drain: its pass over the rings runs within the next event-loop turn,
  // so a drain that read a busy ring would have handed out record-5 by then.
  const idle = drain.untilIdle();
  await new Promise(setImmediate);
  t.is(seen.length, 1, 'the ring is not read further meanwhile');
  next = handed();
  settle!.reject(new Error('downstream away'));
  await next;
  t.deepEqual(seen[1].slice(0, 5), seen[0], 'the rejected batch is handed out again, from its first record');
  settle!.resolve();
  await idle;
  t.is(ring.used(), 0, 'committed once resolved');
  t.deepEqual(seen.flat().filter((s, i, all) => all.indexOf(s) === i), Array.from({ length: 6 }, (_, i) => `record-${i}`));
});

test('with delayMs a partial batch waits in the ring until its first record is that old; a full one goes at once', async (t) => {
  const { path, ring } = ringWithBells(t);
  const writer = ring.writer();
  const batches: Array<{ size: number; waitedMs: number }> = [];
  let done: () => void = () => {};
  const drain = new RingDrain(new Map([['green-0', path]]), (_ring, batch) => {
    batches.push({ size: batch.length, waitedMs: Date.now() - batch[0].receivedMs });
    done();
  }, createLogger('test'), { records: 4, bytes: 1 << 20, delayMs: 300 });
  t.teardown(() => drain.close());
  drain.start();

  const partial = new Promise<void>((resolve) => (done = resolve));
  writer.offer(RecordKind.OtlpGrpc, 0, [payload(0)], payload(0).byteLength);
  await partial;
  t.is(batches[0].size, 1);
  t.true(batches[0].waitedMs >= 290, `a lone record waited ${batches[0].waitedMs} ms`);

  const full = new Promise<void>((resolve) => (done = resolve));
  for (let i = 1; i <= 4; i++) writer.offer(RecordKind.OtlpGrpc, 0, [payload(i)], payload(i).byteLength);
  await full;
  t.is(batches[1].size, 4);
  t.true(batches[1].waitedMs < 290, `a full batch went after ${batches[1].waitedMs} ms`);
});

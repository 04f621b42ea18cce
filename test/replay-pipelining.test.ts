import test from 'ava';
import { readdirSync } from 'node:fs';
import { readCursor } from '../src/vault/replay-cursor';
import { replayVault, type InDelivery, type ReplayBatch } from '../src/vault/replayer';
import { SegmentWriter } from '../src/vault/segment-writer';
import { recordFor, vaultDir } from './fixtures/vault-records';

const RECORDS = 3000;
// 512 records a batch: six batches, the last of 440.
const BATCHES = 6;

function writeVault(dir: string): void {
  const writer = new SegmentWriter({ dir, segmentBytes: 64 * 1024 * 1024, sync: 'never' });
  for (let seq = 1; seq <= RECORDS; seq++) writer.append(recordFor(seq));
  writer.close();
}

interface HandedOver {
  lastSeq: number;
  /** The cursor on disk when the batch was handed over. */
  cursorThen: number;
  deliver(): void;
  fail(err: Error): void;
}

/** A handler like the online replay's: it hands a batch over and says later whether it was delivered. */
function handOver(dir: string): { handed: HandedOver[]; handle: (batch: ReplayBatch) => Promise<InDelivery>; until(n: number): Promise<void> } {
  const handed: HandedOver[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    handed,
    async handle({ records }) {
      let deliver!: () => void;
      let fail!: (err: Error) => void;
      const delivered = new Promise<void>((resolve, reject) => ((deliver = resolve), (fail = reject)));
      handed.push({ lastSeq: records[records.length - 1].seq, cursorThen: readCursor(dir), deliver, fail });
      for (const w of waiters.filter((w) => handed.length >= w.n)) w.resolve();
      return { delivered };
    },
    until: (n) => (handed.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** A replay of a fresh vault through handOver, once it has handed over its first four batches. */
async function replayHandedFour(t: { teardown(fn: () => void): void }): Promise<{ dir: string; h: ReturnType<typeof handOver>; replay: ReturnType<typeof replayVault> }> {
  const dir = vaultDir(t);
  writeVault(dir);
  const h = handOver(dir);
  const replay = replayVault({ dir, recordsPerSecond: 1e9, handle: h.handle });
  await h.until(4);
  return { dir, h, replay };
}

test('the replay hands over four batches ahead of their delivery, and the cursor follows deliveries only, in order', async (t) => {
  const { dir, h, replay } = await replayHandedFour(t);
  t.is(readCursor(dir), 0, 'nothing delivered, nothing passed');
  // Delivered out of order: the second cannot move the cursor before the first.
  h.handed[1].deliver();
  h.handed[0].deliver();
  await h.until(5);
  t.is(h.handed[4].cursorThen, h.handed[0].lastSeq, 'the fifth waited for a slot, and got it when the first was delivered');
  for (let i = 2; i < 5; i++) h.handed[i].deliver();
  await h.until(BATCHES);
  h.handed[BATCHES - 1].deliver();

  const summary = await replay;
  t.like(summary, { completed: true, records: RECORDS, cursor: RECORDS, segmentsDeleted: 1 });
  t.is(h.handed.length, BATCHES, 'each batch handed over once');
  t.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.gsv')), []);
});

test('a failed delivery stops the replay with the cursor past the batches delivered before it, and the segment kept', async (t) => {
  const { dir, h, replay } = await replayHandedFour(t);
  h.handed[0].deliver();
  h.handed[1].fail(new Error('downstream said no'));
  await t.throwsAsync(replay, { message: 'downstream said no' });
  t.is(readCursor(dir), h.handed[0].lastSeq);
  t.is(readdirSync(dir).filter((f) => f.endsWith('.gsv')).length, 1);
});

test('a handler that throws stops the replay, and batches already delivered are kept, not exported again next time', async (t) => {
  const dir = vaultDir(t);
  writeVault(dir);
  const h = handOver(dir);
  let calls = 0;
  const replay = replayVault({
    dir,
    recordsPerSecond: 1e9,
    handle: async (batch) => {
      if (++calls === 3) throw new Error('stopped while paused');
      const inDelivery = await h.handle(batch);
      h.handed[h.handed.length - 1].deliver();
      return inDelivery;
    },
  });
  await t.throwsAsync(replay, { message: 'stopped while paused' });
  t.is(readCursor(dir), h.handed[1].lastSeq);
});

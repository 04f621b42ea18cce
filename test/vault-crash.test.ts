import test from 'ava';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setLogLevel } from '../src/common/log';
import { recoverSegment } from '../src/vault/segment-reader';
import { readVault, recordFor, sameRecord, segmentFiles, vaultDir } from './fixtures/vault-records';

const FIXTURE = join(__dirname, 'fixtures', 'vault-writer.js');
const KILLS = 4;
const RECORDS_PER_LIFE = 1500;

// Recovery warns about each torn tail a kill leaves; the test counts them instead.
setLogLevel('error');

/** What a restarted vault does first: cut every segment back to its last good record. */
function recoverAll(dir: string): { lastSeq: number; tornTails: number } {
  let lastSeq = 0;
  let tornTails = 0;
  for (const file of segmentFiles(dir)) {
    const recovered = recoverSegment(file);
    lastSeq = Math.max(lastSeq, recovered.lastSeq);
    if (recovered.tail === 'torn') tornTails++;
  }
  return { lastSeq, tornTails };
}

function syncedAtLeast(child: ChildProcess, seq: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { synced: number }): void => {
      if (msg.synced < seq) return;
      child.off('message', onMessage);
      resolve(msg.synced);
    };
    child.on('message', onMessage);
    child.once('exit', (code, signal) => reject(new Error(`fixture exited early: code ${code} signal ${signal}`)));
  });
}

test('a writer SIGKILLed mid-stream, again and again, loses no record it reported as synced', async (t) => {
  const dir = vaultDir(t);
  let reported = 0;
  let tornTails = 0;
  for (let life = 0; life < KILLS; life++) {
    const { lastSeq, tornTails: torn } = recoverAll(dir);
    tornTails += torn;
    t.true(lastSeq >= reported, `life ${life}: recovered up to ${lastSeq}, ${reported} were reported synced`);
    const child = fork(FIXTURE, [dir, String(lastSeq + 1)]);
    reported = await syncedAtLeast(child, lastSeq + RECORDS_PER_LIFE);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = await exited;
    t.is(signal, 'SIGKILL');
  }

  tornTails += recoverAll(dir).tornTails;
  t.log(`${KILLS} kills left ${tornTails} torn tails`);
  const { records, scans } = readVault(dir);
  t.true(scans.every((s) => s.corruptSkipped === 0 && s.tail === 'clean'));
  t.deepEqual(
    records.map((r) => r.seq),
    Array.from({ length: records.length }, (_, i) => i + 1),
    'seqs run without gaps or repeats across restarts',
  );
  t.true(records.length >= reported, `${records.length} records recovered, ${reported} reported synced`);
  t.deepEqual(
    records.filter((r) => !sameRecord(r, recordFor(r.seq))).map((r) => r.seq),
    [],
  );
});

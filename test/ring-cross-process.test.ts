import test from 'ava';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openRing } from '../src/common/ring';

const FIXTURES = join(__dirname, 'fixtures');
const COUNT = 30_000;
const KILLS = 3;

function waitFor(child: ChildProcess, predicate: (msg: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Record<string, unknown>): void => {
      if (predicate(msg)) {
        child.off('message', onMessage);
        resolve();
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code, signal) => reject(new Error(`fixture exited early: code ${code} signal ${signal}`)));
  });
}

test('a reader SIGKILLed mid-stream loses nothing; only the record in hand is seen twice', async (t) => {
  const dir = mkdtempSync('/dev/shm/gs-ring-test-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ringPath = join(dir, 'green-0.ring');
  const outPath = join(dir, 'handled.txt');
  openRing(ringPath, 64 * 1024);

  const writer = fork(join(FIXTURES, 'ring-writer.js'), [ringPath, String(COUNT)]);
  const writerDone = once(writer, 'exit');
  const startReader = (): ChildProcess => fork(join(FIXTURES, 'ring-reader.js'), [ringPath, outPath, String(COUNT - 1)]);

  for (let kill = 0; kill < KILLS; kill++) {
    const reader = startReader();
    await waitFor(reader, (m) => typeof m.handled === 'number');
    const exited = once(reader, 'exit');
    reader.kill('SIGKILL');
    const [, signal] = await exited;
    t.is(signal, 'SIGKILL');
  }
  const last = startReader();
  await waitFor(last, (m) => m.finished === true);
  await writerDone;
  t.is(writer.exitCode, 0);

  const lines = readFileSync(outPath, 'utf8').trim().split('\n');
  const seen = new Map<number, number>();
  const damaged = [];
  for (const line of lines) {
    const [seq, verdict] = line.split(' ');
    if (verdict !== 'ok') damaged.push(seq);
    seen.set(Number(seq), (seen.get(Number(seq)) ?? 0) + 1);
  }
  t.deepEqual(damaged, [], 'every record arrived intact');
  const missing = [];
  for (let seq = 0; seq < COUNT; seq++) if (!seen.has(seq)) missing.push(seq);
  const twice = [...seen].filter(([, n]) => n > 1);
  t.deepEqual(missing, [], 'no record is lost');
  t.true(twice.every(([, n]) => n === 2), 'no record is seen more than twice');
  t.true(twice.length <= KILLS, `at most one record in hand per kill is seen again (saw ${twice.length})`);
  t.log(`${lines.length} records handled for ${COUNT} written across ${KILLS} kills; ${twice.length} seen twice`);
});

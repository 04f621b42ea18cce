/**
 * Another local user against the rings: the ring directory is made before the engine
 * starts, with world-writable ring files in it, or a symlink stands where a ring goes. The
 * engine must never map what it does not own.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir, startEngine } from './helpers/engine';
import { asNobody, freeListeners, holds, isRoot, NOBODY, startThatFails, type FailedStart } from './helpers/hostile';
import { sendLines } from './helpers/lines';
import { scrapeUntil, valueOf } from './helpers/metrics';

const rootOnly = isRoot ? test.serial : test.skip;
if (!isRoot) test('hostile ring tests need root to act as uid 65534 through setpriv', (t) => t.pass());

rootOnly('a ring directory planted by another user at the former predictable path is never used; the engine keeps a private one nobody else can read', async (t) => {
  const dir = scratchDir('test-hostile-rings-');
  // The path the engine used to derive from data_dir, made first by uid 65534 with open files.
  const planted = `/dev/shm/gophership-0-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  t.teardown(() => rmSync(planted, { recursive: true, force: true }));
  const made = asNobody(`mkdir -m 0755 ${planted} && cd ${planted} && touch green-0.ring red-0.ring replay.ring zone && chmod 0666 green-0.ring red-0.ring replay.ring zone`);
  t.is(made.status, 0, made.output);
  rmSync(dir, { recursive: true, force: true });

  const engine = await startEngine({ data_dir: dir, ingest: { workers: 1 }, rings: { dir: null } });
  t.teardown(() => engine.cleanup());
  const marker = `secret-${process.pid}-${Date.now()}`;
  await sendLines({ port: engine.linesPort }, [`${marker}\n`]);
  await scrapeUntil(engine.metricsPort, (s) => (valueOf(s, 'gophership_ingest_accepted_requests_total', { protocol: 'lines' }) ?? 0) >= 1);

  const ringDir = readFileSync(join(dir, 'rings-dir'), 'utf8').trim();
  t.not(ringDir, planted, 'the engine did not take the planted directory');
  t.regex(ringDir, /^\/dev\/shm\/gophership-0-[0-9a-f]{24}$/, 'a random name no other user can guess');
  const st = statSync(ringDir);
  t.is(st.uid, 0);
  t.is(st.mode & 0o7777, 0o700);
  t.is(statSync(join(ringDir, 'green-0.ring')).mode & 0o7777, 0o600);
  for (const name of ['green-0.ring', 'red-0.ring', 'replay.ring', 'zone']) t.false(holds(join(planted, name), marker), `${name} in the planted directory holds no record`);
  t.not(asNobody(`cat ${ringDir}/green-0.ring > /dev/null`).status, 0, 'uid 65534 cannot read the rings');
  t.not(asNobody(`ls ${ringDir}`).status, 0, 'uid 65534 cannot list the ring directory');
  t.is(await engine.stop(), 0);
  t.true(readFileSync(engine.outputPath, 'utf8').includes(marker), 'the record was delivered');
});

/** A data_dir and a private directory in /dev/shm, both removed after the test. */
function scratch(t: ExecutionContext): { dir: string; shm: string } {
  const dir = scratchDir('test-hostile-rings-');
  const shm = mkdtempSync('/dev/shm/gs-test-hostile-');
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  });
  return { dir, shm };
}

/** Starts an engine on `ringDir` that must fail, with one worker on free ports. */
async function startOn(dir: string, ringDir: string): Promise<FailedStart> {
  return startThatFails(join(dir, 'gophership.yaml'), { data_dir: dir, rings: { dir: ringDir }, ingest: { workers: 1, ...(await freeListeners()) }, metrics: { enabled: false } });
}

rootOnly('a configured rings.dir made by another user stops the start with GS_RINGS_UNSAFE naming path, owner and mode', async (t) => {
  const { dir, shm } = scratch(t);
  const ringDir = join(shm, 'rings');
  // As if uid 65534 had made it first (it cannot enter the private parent to do so itself).
  mkdirSync(ringDir, { mode: 0o755 });
  chownSync(ringDir, NOBODY, NOBODY);
  const start = await startOn(dir, ringDir);
  t.is(start.code, 1);
  t.regex(start.failed, /"code":"GS_RINGS_UNSAFE"/);
  t.true(start.failed.includes(`ring directory ${ringDir} is a directory owned by uid ${NOBODY} with mode 0755`), start.failed);
  t.false(existsSync(join(ringDir, 'green-0.ring')), 'nothing was made in it');
  t.notRegex(start.stderr, /draining/, 'a start that failed before forking says nothing about draining');
});

rootOnly('a symlink where a ring file goes stops the start with GS_RINGS_UNSAFE; its target is not touched', async (t) => {
  const { dir, shm } = scratch(t);
  const target = join(dir, 'target');
  writeFileSync(target, 'not a ring');
  symlinkSync(target, join(shm, 'green-0.ring'));
  const start = await startOn(dir, shm);
  t.is(start.code, 1);
  t.regex(start.failed, /"code":"GS_RINGS_UNSAFE"/);
  t.true(start.failed.includes('a symlink stands where a ring file goes'), start.failed);
  t.is(readFileSync(target, 'utf8'), 'not a ring');
});

rootOnly('a ring file of another owner or mode in the engine\'s own directory stops the start', async (t) => {
  const { dir, shm } = scratch(t);
  writeFileSync(join(shm, 'red-0.ring'), '', { mode: 0o666 });
  const start = await startOn(dir, shm);
  t.regex(start.failed, /"code":"GS_RINGS_UNSAFE"/);
  t.true(start.failed.includes('mode is not 0600'), start.failed);
});

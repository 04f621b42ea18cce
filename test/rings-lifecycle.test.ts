/**
 * Rings leave nothing behind: a clean stop removes them, a crash leaves them for the next
 * start (which resumes them, then removes them at its own clean stop), and `gs-ctl rings`
 * finds and prunes what no engine will come back for.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../bench/child-io';
import { ringDirInUse } from '../src/common/ring-files';
import { scratchDir, startEngine, type Engine } from './helpers/engine';
import { freeListeners, startThatFails } from './helpers/hostile';
import { gsCtl } from './helpers/gs-ctl';
import { sendLines } from './helpers/lines';

interface Listed {
  orphans: Array<{ dir: string; bytes: number; held: number; outcome?: string }>;
}

/** An exporter whose downstream is down: what ingest stored stays unacknowledged in the green ring. */
async function deadExporter(): Promise<Record<string, unknown>> {
  return { type: 'otlp_grpc', endpoint: `127.0.0.1:${await freePort()}`, retry: { initial_ms: 100, max_ms: 1000 } };
}

function recordedRingDir(engine: Engine): string {
  return readFileSync(join(engine.dir, 'rings-dir'), 'utf8').trim();
}

/** SIGKILL the supervisor; its children die with it (PR_SET_PDEATHSIG). Resolves once none maps the rings. */
async function crash(engine: Engine, ringDir: string): Promise<void> {
  await engine.stop('SIGKILL');
  for (let i = 0; i < 100 && ringDirInUse(ringDir); i++) await sleep(50);
}

async function storeUnacknowledged(engine: Engine, marker: string): Promise<void> {
  await sendLines({ port: engine.linesPort }, [`${marker}\n`]);
  await engine.waitForLog((l) => l.msg === 'downstream unavailable; will retry');
}

test('a clean stop leaves no ring directory behind', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 }, rings: { dir: null } });
  t.teardown(() => engine.cleanup());
  const ringDir = recordedRingDir(engine);
  t.true(existsSync(join(ringDir, 'green-0.ring')));
  await sendLines({ port: engine.linesPort }, ['one line\n']);
  t.is(await engine.stop(), 0);
  t.false(existsSync(ringDir), `${ringDir} is gone`);
  t.true(readFileSync(engine.outputPath, 'utf8').includes('one line'));
});

test.serial('rings a crash left are listed by gs-ctl rings, resumed by the next start, and gone after its clean stop', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 }, rings: { dir: null }, exporters: [await deadExporter()] });
  t.teardown(() => engine.cleanup());
  const ringDir = recordedRingDir(engine);
  const marker = `crashed-${process.pid}`;
  await storeUnacknowledged(engine, marker);
  const running = JSON.parse((await gsCtl('rings', '--json')).stdout) as Listed;
  t.false(running.orphans.some((o) => o.dir === ringDir), 'a running engine\'s rings are not listed');

  await crash(engine, ringDir);
  const listed = JSON.parse((await gsCtl('rings', '--json')).stdout) as Listed;
  const orphan = listed.orphans.find((o) => o.dir === ringDir);
  t.truthy(orphan, 'the crashed engine\'s rings are listed');
  t.true(orphan!.held > 0, 'with the bytes of the record no exporter acknowledged');

  const next = await engine.relaunch({ exporters: [{ type: 'file', path: engine.outputPath }] });
  t.teardown(() => next.cleanup());
  t.is(recordedRingDir(next), ringDir, 'the next start finds the rings through data_dir');
  t.is(await next.stop(), 0);
  t.true(readFileSync(engine.outputPath, 'utf8').includes(marker), 'the record the crash left in the ring is delivered');
  t.false(existsSync(ringDir), 'and the rings are gone after the clean stop');
});

test.serial('gs-ctl rings --prune removes orphans that hold nothing, keeps those holding records unless --force, never touches a running engine\'s', async (t) => {
  const parent = mkdtempSync('/dev/shm/gs-test-orphans-');
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  const [empty, holding, live] = ['gophership-empty', 'gophership-holding', 'gophership-live'].map((name) => join(parent, name));
  const crashedEmpty = await startEngine({ ingest: { workers: 1 }, rings: { dir: empty } });
  t.teardown(() => crashedEmpty.cleanup());
  await crash(crashedEmpty, empty);
  const crashedHolding = await startEngine({ ingest: { workers: 1 }, rings: { dir: holding }, exporters: [await deadExporter()] });
  t.teardown(() => crashedHolding.cleanup());
  await storeUnacknowledged(crashedHolding, 'held');
  await crash(crashedHolding, holding);
  const running = await startEngine({ ingest: { workers: 1 }, rings: { dir: live } });
  t.teardown(() => running.cleanup());

  const listed = JSON.parse((await gsCtl('rings', '--json', '--in', parent)).stdout) as Listed;
  t.deepEqual(listed.orphans.map((o) => o.dir), [empty, holding]);
  t.is(listed.orphans[0].held, 0);
  t.true(listed.orphans[1].held > 0);
  t.true(listed.orphans.every((o) => o.bytes > 0), 'each takes memory');

  const pruned = await gsCtl('rings', '--prune', '--in', parent);
  t.is(pruned.code, 1, 'a directory holding records was kept');
  t.regex(pruned.stdout, /kept: holds records/);
  t.regex(pruned.stdout, /1 of them hold \d+ bytes of unacknowledged records/);
  t.false(existsSync(empty));
  t.true(existsSync(holding));
  t.true(existsSync(join(live, 'green-0.ring')), 'the running engine\'s rings are untouched');

  const forced = await gsCtl('rings', '--prune', '--force', '--in', parent);
  t.is(forced.code, 0, forced.stdout + forced.stderr);
  t.false(existsSync(holding));
  t.true(existsSync(join(live, 'green-0.ring')));
  t.is(await running.stop(), 0);
  t.false(existsSync(live));
});

test.serial('rings of the version that named the directory after data_dir are resumed on upgrade, then removed', async (t) => {
  const dir = scratchDir('test-rings-upgrade-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const earlier = `/dev/shm/gophership-${process.getuid!()}-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  t.teardown(() => rmSync(earlier, { recursive: true, force: true }));
  const old = await startEngine({ data_dir: dir, ingest: { workers: 1 }, rings: { dir: earlier }, exporters: [await deadExporter()] });
  t.teardown(() => old.cleanup());
  await storeUnacknowledged(old, 'from-before-the-upgrade');
  await crash(old, earlier);

  const upgraded = await old.relaunch({ rings: { dir: null }, exporters: [{ type: 'file', path: old.outputPath }] });
  t.teardown(() => upgraded.cleanup());
  await upgraded.waitForLog((l) => l.msg === 'resuming the rings of an earlier version');
  t.is(readFileSync(join(dir, 'rings-dir'), 'utf8').trim(), earlier);
  t.is(await upgraded.stop(), 0);
  t.true(readFileSync(old.outputPath, 'utf8').includes('from-before-the-upgrade'));
  t.false(existsSync(earlier));
});

test('a second engine on the rings.dir of a running one is refused with GS_ENGINE_RUNNING', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());
  const dir = scratchDir('test-rings-shared-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const second = await startThatFails(join(dir, 'gophership.yaml'), { data_dir: dir, rings: { dir: engine.ringDir }, ingest: await freeListeners(), metrics: { enabled: false } });
  t.is(second.code, 1);
  t.regex(second.failed, /"code":"GS_ENGINE_RUNNING"/);
  t.true(second.failed.includes(`another GopherShip uses the rings in ${engine.ringDir}`), second.failed);
  t.true(existsSync(join(engine.ringDir, 'green-0.ring')), 'the refused start removed nothing of the running engine');
  t.is(await engine.stop(), 0);
});

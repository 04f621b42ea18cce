import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { RecordFlag, RecordKind } from '../src/common/record-kind';
import { PidFile } from '../src/common/pid-file';
import { CURSOR_FILE, readCursor, writeCursor } from '../src/vault/replay-cursor';
import { scanSegment } from '../src/vault/segment-reader';
import { SegmentWriter } from '../src/vault/segment-writer';
import { scratchDir } from './helpers/engine';
import { GS_CTL, gsCtl, gsCtlIn } from './helpers/gs-ctl';
import { countIds } from './helpers/output';


interface Setup {
  dir: string;
  vault: string;
  config: string;
  output: string;
  deadLetter: string;
}

function otlpRequest(id: string): Uint8Array {
  const request = ExportLogsServiceRequest.fromObject({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `replayed ${id}` }, attributes: [{ key: 'test.id', value: { stringValue: id } }] }] }] }],
  });
  return ExportLogsServiceRequest.encode(request).finish();
}

/**
 * A data_dir with a config file and a vault of `records` OTLP requests (test.id `id-SEQ`,
 * every seventh gzipped as a client may send it) over segments of `segmentBytes`.
 * `payloadOf` may swap in a payload of its own for a seq.
 */
function setUp(t: { teardown(fn: () => void): void }, records: number, segmentBytes: number, payloadOf?: (seq: number) => { kind: RecordKind; payload: Uint8Array } | undefined): Setup {
  const dir = scratchDir('test-ctl-replay-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const vault = join(dir, 'vault');
  const output = join(dir, 'out', 'logs.jsonl');
  const deadLetter = join(dir, 'dead-letter.jsonl');
  const writer = new SegmentWriter({ dir: vault, segmentBytes, sync: 'never' });
  for (let seq = 1; seq <= records; seq++) {
    const custom = payloadOf?.(seq);
    const gzip = custom === undefined && seq % 7 === 0;
    const payload = custom?.payload ?? otlpRequest(`id-${seq}`);
    writer.append({ kind: custom?.kind ?? RecordKind.OtlpGrpc, flags: gzip ? RecordFlag.Gzip : 0, receivedMs: Date.now(), payload: gzip ? gzipSync(payload) : payload });
  }
  writer.close();
  const config = join(dir, 'gophership.yaml');
  writeFileSync(config, stringify({ data_dir: dir, exporters: [{ type: 'file', path: output }], export: { dead_letter_path: deadLetter } }));
  return { dir, vault, config, output, deadLetter };
}

function segmentsIn(vault: string): string[] {
  return readdirSync(vault).filter((name) => name.endsWith('.gsv'));
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('a replay exports every vaulted record exactly once, deletes the segments and leaves the cursor at the last seq', async (t) => {
  const records = 10_000;
  const setup = setUp(t, records, 128 * 1024);
  const segments = segmentsIn(setup.vault).length;
  t.true(segments >= 5, `the vault spans several segments (${segments})`);
  const lastSegment = segmentsIn(setup.vault).sort().at(-1)!;
  const lastSegmentBytes = readFileSync(join(setup.vault, lastSegment));

  const run = await gsCtl('replay', '--config', setup.config);
  t.is(run.code, 0, run.stderr);
  const lines = jsonLines(run.stdout);
  t.like(lines.at(-1), { done: true, records, dead_lettered: 0, skipped: 0, segments_deleted: segments, cursor: records });
  for (const progress of lines.slice(0, -1)) t.deepEqual(Object.keys(progress), ['records', 'bytes', 'rate', 'eta_s']);

  const counts = countIds(setup.output);
  t.is(counts.size, records);
  t.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'no record twice');
  for (let seq = 1; seq <= records; seq++) if (!counts.has(`id-${seq}`)) t.fail(`id-${seq} is missing`);
  t.deepEqual(segmentsIn(setup.vault), []);
  t.is(readCursor(setup.vault), records);
  t.notThrows(() => PidFile.acquire(join(setup.dir, 'gophership.pid')).release(), 'the engine lock is released');

  // As if a crash had undone the last deletion: the segment is all at or below the cursor.
  writeFileSync(join(setup.vault, lastSegment), lastSegmentBytes);
  const again = await gsCtl('replay', '--config', setup.config);
  t.is(again.code, 0, again.stderr);
  t.like(jsonLines(again.stdout).at(-1), { done: true, records: 0, segments_deleted: 1, cursor: records });
  t.deepEqual(segmentsIn(setup.vault), []);
  t.deepEqual([...countIds(setup.output).values()].filter((n) => n !== 1), [], 'a second run exports nothing more');
});

test('a replay SIGKILLed mid-way resumes at the cursor: every record at least once, none missing', async (t) => {
  const records = 10_000;
  const setup = setUp(t, records, 128 * 1024);
  // Slow enough (5 s) that the kill lands mid-way.
  const child = spawn(process.execPath, [GS_CTL, 'replay', '--config', setup.config, '--vault', setup.vault, '--rate', '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  let first: { records: number } | undefined;
  for await (const line of lines) {
    first = JSON.parse(line) as { records: number };
    break;
  }
  child.kill('SIGKILL');
  t.deepEqual(await exited, [null, 'SIGKILL']);
  t.true(first !== undefined && first.records > 0, 'a progress line came before the kill');
  const cursor = readCursor(setup.vault);
  t.true(cursor >= first!.records && cursor < records, `killed mid-way, cursor at ${cursor}`);
  t.true(segmentsIn(setup.vault).length > 0);

  const resumed = await gsCtl('replay', '--config', setup.config, '--vault', setup.vault);
  t.is(resumed.code, 0, resumed.stderr);
  const summary = jsonLines(resumed.stdout).at(-1)!;
  t.like(summary, { done: true, cursor: records });
  t.true((summary.skipped as number) <= cursor, 'only records above the cursor were exported again');

  const counts = countIds(setup.output);
  const missing: number[] = [];
  for (let seq = 1; seq <= records; seq++) if (!counts.has(`id-${seq}`)) missing.push(seq);
  t.deepEqual(missing, []);
  const twice = [...counts.values()].filter((n) => n > 1).length;
  t.true(twice <= 512, `at most the batch in flight is exported twice (${twice})`);
  t.deepEqual(segmentsIn(setup.vault), []);
});

test('a running engine (its locked pid file) refuses the replay with exit 1 and touches nothing', async (t) => {
  const setup = setUp(t, 100, 64 * 1024);
  const pidFile = join(setup.dir, 'gophership.pid');
  // This test's own process stands in for a running engine: it holds the lock.
  const held = PidFile.acquire(pidFile);
  t.teardown(() => held.release());
  const segments = segmentsIn(setup.vault);

  const run = await gsCtl('replay', '--config', setup.config);
  t.is(run.code, 1);
  t.is(run.stdout, '');
  const reason = run.stderr.trimEnd();
  t.false(reason.includes('\n'), 'one line');
  t.true(reason.includes(`pid ${process.pid}`), reason);
  t.regex(reason, /GS_ENGINE_RUNNING.*stop it, or add --online to have the engine replay/);
  t.deepEqual(segmentsIn(setup.vault), segments);
  t.false(existsSync(join(setup.vault, CURSOR_FILE)));
  t.false(existsSync(setup.output));
  t.is(readFileSync(pidFile, 'utf8'), `${process.pid}\n`, 'the engine keeps its pid file');
});

test('poison records go to the dead-letter file, counted, and the replay goes on', async (t) => {
  const records = 1000;
  // Field 1 (resource_logs), length-delimited, claiming 100 bytes that are not there.
  const malformed = Uint8Array.from([0x0a, 0x64, 0x01, 0x02]);
  const poison = new Map<number, { kind: RecordKind; payload: Uint8Array }>([
    [300, { kind: RecordKind.OtlpGrpc, payload: malformed }],
    [301, { kind: RecordKind.Lines, payload: new TextEncoder().encode('a line replay has no decoder for\n') }],
  ]);
  const setup = setUp(t, records, 64 * 1024, (seq) => poison.get(seq));
  const segmentOf = new Map<number, string>();
  for (const name of segmentsIn(setup.vault)) scanSegment(join(setup.vault, name), (r) => segmentOf.set(r.seq, name));

  const run = await gsCtl('replay', '--config', setup.config);
  t.is(run.code, 0, run.stderr);
  t.like(jsonLines(run.stdout).at(-1), { done: true, records, dead_lettered: 2, cursor: records });

  const dead = jsonLines(readFileSync(setup.deadLetter, 'utf8'));
  t.deepEqual(
    dead.map((d) => [d.code, d.kind, d.source, Buffer.from(d.payload_base64 as string, 'base64')]),
    [...poison].map(([seq, p]) => ['GS_POISON_RECORD', p.kind, `vault ${segmentOf.get(seq)} seq ${seq}`, Buffer.from(p.payload)]),
  );
  const counts = countIds(setup.output);
  t.is(counts.size, records - 2);
  t.false(counts.has('id-300') || counts.has('id-301'));
  t.true(counts.has('id-299') && counts.has('id-302') && counts.has(`id-${records}`));
  t.deepEqual(segmentsIn(setup.vault), []);
});

test('--rate bounds the records exported per second', async (t) => {
  const records = 300;
  const rate = 100;
  const setup = setUp(t, records, 64 * 1024);
  const started = performance.now();
  const run = await gsCtl('replay', '--config', setup.config, '--rate', String(rate));
  const elapsedS = (performance.now() - started) / 1000;
  t.is(run.code, 0, run.stderr);
  t.is(countIds(setup.output).size, records);
  // 3 s at the bound; the margin only absorbs timer jitter.
  t.true(records / elapsedS <= rate * 1.1, `${records} records in ${elapsedS.toFixed(2)} s`);
  const lines = jsonLines(run.stdout);
  t.true((lines.at(-1)!.rate as number) <= rate * 1.1);
  t.true(lines.length - 1 <= Math.ceil(elapsedS) + 1, 'a progress line at most once a second');
});

test('records numbered at or below the cursor by a vault written anew are refused, not deleted as replayed', async (t) => {
  // A first replay emptied the vault up to seq 5000; then the vault was written from seq 1 again.
  const setup = setUp(t, 3000, 64 * 1024);
  writeCursor(setup.vault, 5000);
  const segments = segmentsIn(setup.vault);
  t.true(segments.length > 1);
  const run = await gsCtl('replay', '--config', setup.config);
  t.is(run.code, 1);
  t.regex(run.stderr.trimEnd().split('\n').at(-1)!, /^gs-ctl replay: GS_REPLAY_CURSOR_AHEAD: .*seg-0+\d+\.gsv starts at seq \d+, at or below the replay cursor \(seq 5000\)/);
  t.deepEqual(segmentsIn(setup.vault), segments, 'nothing deleted');
  t.false(existsSync(setup.output) && readFileSync(setup.output, 'utf8') !== '', 'nothing exported');

  // With a single segment left only its end gives it away.
  for (const name of segments.slice(1)) rmSync(join(setup.vault, name));
  const single = await gsCtl('replay', '--config', setup.config);
  t.is(single.code, 1);
  t.regex(single.stderr, /GS_REPLAY_CURSOR_AHEAD: .*seg-0+1\.gsv ends at seq \d+, at or below/);
  t.deepEqual(segmentsIn(setup.vault), segments.slice(0, 1));
});

test('operator mistakes exit 2; a damaged cursor exits 1 saying what to do', async (t) => {
  const setup = setUp(t, 10, 64 * 1024);
  t.is((await gsCtl('replay', '--config', setup.config, '--socket', join(setup.dir, 'control.sock'))).code, 2, '--socket without --online');
  t.is((await gsCtl('replay', '--config', join(setup.dir, 'missing.yaml'))).code, 2);
  t.is((await gsCtl('replay', '--config', setup.config, '--rate', 'fast')).code, 2);
  t.is((await gsCtl('replay', '--config', setup.config, '--vault', join(setup.dir, 'no-vault'))).code, 2);
  const help = await gsCtl('replay', '--help');
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes: 0 .*; 1 .*; 2 usage error/s);

  writeFileSync(join(setup.vault, CURSOR_FILE), 'seq=5');
  const damaged = await gsCtl('replay', '--config', setup.config);
  t.is(damaged.code, 1);
  t.regex(damaged.stderr.trimEnd().split('\n').at(-1)!, /^gs-ctl replay: GS_REPLAY_CURSOR_CORRUPT: .*or delete it/);
  t.is(segmentsIn(setup.vault).length, 1, 'nothing replayed or deleted');
});

test('without --config the offline replay takes the embedded defaults, as `gophership run` would: ./var/vault to ./var/out/logs.jsonl', async (t) => {
  const setup = setUp(t, 100, 64 * 1024);
  // setUp's data_dir holds vault/ and out/logs.jsonl, as ./var does on the defaults.
  const cwd = scratchDir('test-ctl-replay-cwd-');
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  symlinkSync(setup.dir, join(cwd, 'var'));
  const run = await gsCtlIn(cwd, 'replay');
  t.is(run.code, 0, run.stderr);
  t.like(jsonLines(run.stdout).at(-1), { done: true, records: 100 });
  t.is(countIds(setup.output).size, 100);
  t.deepEqual(segmentsIn(setup.vault), []);
});

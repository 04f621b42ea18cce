import test from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, ReplayCursorCorruptError } from '../src/common/errors';
import { CURSOR_FILE, readCursor, writeCursor } from '../src/vault/replay-cursor';
import { scratchDir } from './helpers/engine';

function vaultDir(t: { teardown(fn: () => void): void }): string {
  const dir = scratchDir('test-cursor-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a vault without a cursor file has replayed nothing', (t) => {
  t.is(readCursor(vaultDir(t)), 0);
  t.is(readCursor(join(vaultDir(t), 'not-created-yet')), 0);
});

test('the cursor written is the cursor read, and each write replaces the last whole', (t) => {
  const dir = vaultDir(t);
  for (const seq of [0, 1, 511, 2 ** 40, Number.MAX_SAFE_INTEGER, 7]) {
    writeCursor(dir, seq);
    t.is(readCursor(dir), seq);
  }
  t.deepEqual(JSON.parse(readFileSync(join(dir, CURSOR_FILE), 'utf8')), { seq: 7 });
  t.deepEqual(readdirSync(dir), [CURSOR_FILE], 'no temp file is left behind');
});

test('a temp file left by a write that a crash interrupted changes nothing', (t) => {
  const dir = vaultDir(t);
  writeCursor(dir, 42);
  writeFileSync(join(dir, `${CURSOR_FILE}.tmp`), '{"se');
  t.is(readCursor(dir), 42);
  writeCursor(dir, 43);
  t.is(readCursor(dir), 43);
  t.deepEqual(readdirSync(dir), [CURSOR_FILE]);
});

test('a cursor file that is not what replay writes is a typed error that tells the operator what to do', (t) => {
  const dir = vaultDir(t);
  const path = join(dir, CURSOR_FILE);
  for (const text of ['', '{"se', '42', 'null', '[]', '{}', '{"seq":-1}', '{"seq":1.5}', '{"seq":"42"}', '{"seq":9007199254740992}']) {
    writeFileSync(path, text);
    const err = t.throws(() => readCursor(dir), { instanceOf: ReplayCursorCorruptError }, JSON.stringify(text));
    t.is(err?.code, 'GS_REPLAY_CURSOR_CORRUPT');
    t.true(err?.message.includes(path), 'names the file');
    t.regex(err?.message ?? '', /write \{"seq":N\}.*or delete it/, 'says how to repair it');
  }
});

test('writing refuses a seq that is no seq, and a directory that is not there', (t) => {
  const dir = vaultDir(t);
  for (const seq of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    t.throws(() => writeCursor(dir, seq), { instanceOf: InvalidArgumentError }, String(seq));
  }
  t.false(existsSync(join(dir, CURSOR_FILE)));
  t.throws(() => writeCursor(join(dir, 'missing'), 1), { code: 'ENOENT' });
  mkdirSync(join(dir, CURSOR_FILE));
  t.throws(() => writeCursor(dir, 1), { code: 'EISDIR' });
});

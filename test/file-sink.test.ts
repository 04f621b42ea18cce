import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../src/export/file-sink';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gs-file-sink-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A 20-byte line (19 characters and a newline) carrying its sequence number. */
function line(n: number): string {
  return `line-${String(n).padStart(14, '0')}\n`;
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return text.length === 0 ? [] : text.slice(0, -1).split('\n');
}

test('rotates to path.1 … path.N, newest first, and keeps at most maxFiles old files', (t) => {
  const path = join(tempDir(t), 'out', 'logs.jsonl');
  const sink = new FileSink({ path, maxBytes: 60, maxFiles: 2 });
  for (let n = 0; n < 12; n++) sink.write(line(n)); // three lines per file
  sink.close();

  t.deepEqual(lines(path), [line(9), line(10), line(11)].map((l) => l.trimEnd()));
  t.deepEqual(lines(`${path}.1`), [line(6), line(7), line(8)].map((l) => l.trimEnd()));
  t.deepEqual(lines(`${path}.2`), [line(3), line(4), line(5)].map((l) => l.trimEnd()));
  t.false(existsSync(`${path}.3`), 'the oldest file beyond maxFiles is gone');
  for (const file of [path, `${path}.1`, `${path}.2`]) t.true(statSync(file).size <= 60, file);
});

test('a batch of many lines goes into one file whole, never split across a rotation', (t) => {
  const path = join(tempDir(t), 'batch.jsonl');
  const sink = new FileSink({ path, maxBytes: 100, maxFiles: 3 });
  sink.write(line(0) + line(1) + line(2)); // 60 bytes
  sink.write(line(3) + line(4) + line(5)); // would make 120: rotates first
  sink.close();
  t.deepEqual(lines(`${path}.1`), [0, 1, 2].map((n) => line(n).trimEnd()));
  t.deepEqual(lines(path), [3, 4, 5].map((n) => line(n).trimEnd()));
});

test('maxFiles 0 truncates in place instead of keeping old files', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'only.jsonl');
  const sink = new FileSink({ path, maxBytes: 40, maxFiles: 0 });
  for (let n = 0; n < 5; n++) sink.write(line(n));
  sink.close();
  t.deepEqual(lines(path), [line(4).trimEnd()]);
  t.false(existsSync(`${path}.1`));
});

test('a restart continues the existing file and counts its size toward rotation', (t) => {
  const path = join(tempDir(t), 'restart.jsonl');
  const first = new FileSink({ path, maxBytes: 50, maxFiles: 1 });
  first.write(line(0) + line(1));
  first.close();

  const second = new FileSink({ path, maxBytes: 50, maxFiles: 1 });
  t.deepEqual(lines(path), [line(0), line(1)].map((l) => l.trimEnd()), 'opening does not truncate');
  second.write(line(2)); // 40 + 20 > 50: the file found on disk is rotated
  second.close();
  t.deepEqual(lines(`${path}.1`), [line(0), line(1)].map((l) => l.trimEnd()));
  t.deepEqual(lines(path), [line(2).trimEnd()]);

  const third = new FileSink({ path, maxBytes: 50, maxFiles: 1 });
  third.write(line(3));
  third.close();
  t.deepEqual(lines(path), [line(2), line(3)].map((l) => l.trimEnd()), 'below the limit it appends');
});

test('a torn last line left by a crash is cut off before anything is appended', (t) => {
  const path = join(tempDir(t), 'torn.jsonl');
  writeFileSync(path, `{"complete":1}\n{"torn":"${'y'.repeat(100_000)}`);
  const sink = new FileSink({ path, maxBytes: 1_000_000, maxFiles: 1 });
  sink.write('{"next":2}\n');
  sink.close();
  t.is(readFileSync(path, 'utf8'), '{"complete":1}\n{"next":2}\n');
});

test('a file that is one torn line is emptied', (t) => {
  const path = join(tempDir(t), 'all-torn.jsonl');
  writeFileSync(path, '{"torn":');
  new FileSink({ path, maxBytes: 1000, maxFiles: 1 }).close();
  t.is(readFileSync(path, 'utf8'), '');
});

test('a write larger than maxBytes is kept whole in a fresh file', (t) => {
  const path = join(tempDir(t), 'big.jsonl');
  const sink = new FileSink({ path, maxBytes: 50, maxFiles: 2 });
  const big = `${'x'.repeat(199)}\n`;
  sink.write(line(0));
  sink.write(big);
  t.is(readFileSync(`${path}.1`, 'utf8'), line(0));
  t.is(readFileSync(path, 'utf8'), big);
  sink.write(line(1)); // the oversized file is rotated away by the next write
  sink.close();
  t.is(readFileSync(`${path}.2`, 'utf8'), line(0));
  t.is(readFileSync(`${path}.1`, 'utf8'), big);
  t.is(readFileSync(path, 'utf8'), line(1));
});

test('large multi-byte writes arrive complete and byte-exact', (t) => {
  const path = join(tempDir(t), 'large.jsonl');
  const sink = new FileSink({ path, maxBytes: 64 * 1024 * 1024, maxFiles: 1 });
  const text = Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ i, s: 'é🚀'.repeat(20) })).join('\n') + '\n';
  sink.write(text);
  sink.write(text);
  sink.close();
  const content = readFileSync(path, 'utf8');
  t.is(content, text + text);
  t.is(statSync(path).size, Buffer.byteLength(text) * 2);
});

test('lowering maxFiles removes the old files past the new limit at the next rotation', (t) => {
  const path = join(tempDir(t), 'shrink.jsonl');
  const wide = new FileSink({ path, maxBytes: 20, maxFiles: 4 });
  for (let n = 0; n < 5; n++) wide.write(line(n));
  wide.close();
  t.true(existsSync(`${path}.4`));

  const narrow = new FileSink({ path, maxBytes: 20, maxFiles: 1 });
  narrow.write(line(5));
  narrow.close();
  t.deepEqual(lines(`${path}.1`), [line(4).trimEnd()]);
  for (const n of [2, 3, 4]) t.false(existsSync(`${path}.${n}`), `${path}.${n}`);
});

test('the directory is created private and the file owner-only', (t) => {
  const dir = join(tempDir(t), 'a', 'b');
  const path = join(dir, 'private.jsonl');
  new FileSink({ path, maxBytes: 100, maxFiles: 1 }).close();
  t.is(statSync(dir).mode & 0o077, 0);
  t.is(statSync(path).mode & 0o077, 0);
});

test('close is idempotent and a write after it is refused', (t) => {
  const path = join(tempDir(t), 'closed.jsonl');
  const sink = new FileSink({ path, maxBytes: 100, maxFiles: 1 });
  sink.close();
  t.notThrows(() => sink.close());
  t.throws(() => sink.write(line(0)), { code: 'GS_SINK_CLOSED' });
});

test('a failing write surfaces as SinkIoError', (t) => {
  if (!existsSync('/dev/full')) return t.pass('no /dev/full on this system');
  const sink = new FileSink({ path: '/dev/full', maxBytes: 100, maxFiles: 0 });
  t.teardown(() => sink.close());
  const err = t.throws(() => sink.write(line(0)), { code: 'GS_SINK_IO' });
  t.is((err?.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
});

test('invalid options are refused', (t) => {
  const path = join(tempDir(t), 'x.jsonl');
  t.throws(() => new FileSink({ path, maxBytes: 0, maxFiles: 1 }), { code: 'GS_INVALID_ARGUMENT' });
  t.throws(() => new FileSink({ path, maxBytes: 10, maxFiles: -1 }), { code: 'GS_INVALID_ARGUMENT' });
  t.throws(() => new FileSink({ path: '', maxBytes: 10, maxFiles: 1 }), { code: 'GS_INVALID_ARGUMENT' });
});

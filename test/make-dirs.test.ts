import test from 'ava';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../src/common/make-dirs';
import { scratchDir } from './helpers/engine';

test('missing parents are created with the mode asked for', (t) => {
  const root = scratchDir('make-dirs-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  makeDirs(join(root, 'a', 'b', 'c'), 0o700);
  t.is(statSync(join(root, 'a', 'b', 'c')).mode & 0o777, 0o700);
  t.notThrows(() => makeDirs(join(root, 'a', 'b'), 0o700), 'an existing directory is fine');
});

test('a path under /proc fails at once instead of spinning (Node 20 recursive mkdir never returns there)', (t) => {
  t.throws(() => makeDirs('/proc/gophership-not-here/deeper', 0o700), { code: 'ENOENT' });
});

test('a parent that is a file is an error', (t) => {
  const root = scratchDir('make-dirs-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'file'), '');
  t.throws(() => makeDirs(join(root, 'file', 'sub'), 0o700), { code: 'ENOTDIR' });
});

import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/engine';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('every GS_* error code raised in src/ is documented in docs/errors.md', (t) => {
  const documented = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const used = new Set<string>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'(GS_[A-Z_]+)'/g)) used.add(m[1]);
  }
  t.true(used.size > 5, 'codes were found');
  t.deepEqual([...used].filter((code) => !documented.includes(`\`${code}\``)), []);
});

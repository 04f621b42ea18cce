import { readFileSync } from 'node:fs';
import test from 'ava';
import { CONFIG_DOC, renderConfigDocs } from '../scripts/config-docs';

test('the reference tables of docs/configuration.md are those the schema makes (npm run docs:config)', (t) => {
  const doc = readFileSync(CONFIG_DOC, 'utf8');
  t.is(doc.match(/<!-- config-table /g)?.length, 14, 'every table has its markers');
  t.is(renderConfigDocs(doc), doc, 'docs/configuration.md is stale: run npm run docs:config');
});

test('every documented table row has a key, a type, a default and a meaning', (t) => {
  const rows = readFileSync(CONFIG_DOC, 'utf8').split('\n').filter((l) => l.startsWith('| `'));
  t.true(rows.length > 100);
  for (const row of rows) {
    const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    t.is(cells.length, 4, row);
    t.true(cells.every((c) => c.length > 0), row);
  }
});

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const LOG_JS = join(__dirname, '../src/common/log.js');

/** What a logger writes on stderr (a pipe here, not a terminal) with `format`. */
function logLine(format: string): string {
  const script = `const log = require(${JSON.stringify(LOG_JS)});
    log.setLogFormat(${JSON.stringify(format)});
    log.createLogger('test').info('replay done', { tookMs: 12.6, seconds: 0.05439340400000219, records: 3, dir: '/tmp/a b', err: Object.assign(new Error('no room'), { code: 'GS_VAULT_FULL' }) });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return r.stderr;
}

test('auto on a pipe, and json, write one JSON object a line, durations rounded', (t) => {
  for (const format of ['auto', 'json']) {
    const line = JSON.parse(logLine(format)) as Record<string, unknown>;
    t.like(line, { level: 'info', component: 'test', msg: 'replay done', tookMs: 13, seconds: 0.054, records: 3, err: { message: 'no room', code: 'GS_VAULT_FULL' } }, format);
  }
});

test('text writes one readable line: time, level, component[pid], message, fields', (t) => {
  const line = logLine('text');
  t.regex(line, /^\d\d:\d\d:\d\d\.\d{3} INFO  test\[\d+\] replay done tookMs=13 seconds=0\.054 records=3 dir="\/tmp\/a b" err="GS_VAULT_FULL: no room"\n$/);
});

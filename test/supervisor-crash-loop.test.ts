import test from 'ava';
import { startEngine } from './helpers/engine';

test('a child that dies on every start is reported as crash-looping and restarted at the slowest pace, not spun', async (t) => {
  // An output path that can never be created makes the exporter fail at start, every time.
  const engine = await startEngine({
    exporters: [{ type: 'file', path: '/proc/gophership-cannot-write-here/logs.jsonl' }],
    supervisor: { restart_backoff_min_ms: 10, restart_backoff_max_ms: 10_000, crash_loop_restarts: 5, crash_loop_window_ms: 60_000 },
  }, { readyWhen: (l) => l.msg === 'child ready' && l.child === 'vault-0' });
  t.teardown(() => engine.cleanup());
  const loop = await engine.waitForLog((l) => l.code === 'GS_CHILD_CRASH_LOOP' && l.child === 'export-0');
  t.is(loop.level, 'error');
  t.is(loop.restartInMs, 10_000, 'the restart after a crash loop waits the longest backoff');
  const exits = engine.logs.filter((l) => l.child === 'export-0' && (l.msg === 'child exited unexpectedly; restarting' || l.code === 'GS_CHILD_CRASH_LOOP'));
  t.deepEqual(exits.map((l) => l.restartInMs), [10, 20, 40, 80, 10_000], 'backoff doubles until the loop is recognised');
  const failed = engine.logs.find((l) => l.msg === 'failed to start' && l.component === 'export-0');
  t.regex(JSON.stringify(failed?.err), /GS_SINK_IO/, 'the child says why it cannot start');
  t.false(engine.logs.some((l) => l.msg === 'engine ready'), 'not ready while a child cannot start');
  t.is(await engine.stop(), 0, 'a crash-looping child does not prevent a clean stop');
});

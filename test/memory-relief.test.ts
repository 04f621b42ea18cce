import test from 'ava';
import { startEngine } from './helpers/engine';

const RELIEF = 'memory short: collected garbage and returned free heap to the kernel';

test('in a zone made Red by memory every child collects its garbage and returns free heap to the kernel', async (t) => {
  // Thresholds below what the host already uses: the monitor finds memory short at once.
  const engine = await startEngine({ zones: { yellow: 0.01, red: 0.01, recover: 0.01 } });
  t.teardown(() => engine.cleanup());
  const red = await engine.waitForLog((l) => l.msg === 'zone changed' && l.zone === 'red');
  t.true((red.causes as string[]).includes('memory'), `causes ${String(red.causes)}`);
  const relieved = await Promise.all(['ingest-0', 'export-0', 'vault-0'].map((child) => engine.waitForLog((l) => l.component === child && l.msg === RELIEF)));
  for (const line of relieved) t.true((line.rssBeforeMiB as number) > 0 && (line.rssAfterMiB as number) > 0, JSON.stringify(line));
  t.is(await engine.stop(), 0);
});

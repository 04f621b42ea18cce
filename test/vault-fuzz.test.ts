import test from 'ava';
import { setLogLevel } from '../src/common/log';
import { runFuzz } from './fixtures/vault-fuzz';
import { vaultDir } from './fixtures/vault-records';

// Recovery warns about every damaged segment, and here every segment is damaged on purpose.
setLogLevel('error');

test('damaged segments never make the reader throw, loop, or hand out a record that is not intact', (t) => {
  const report = runFuzz({ seed: 0x5eed, cases: 3000, dir: vaultDir(t) });
  t.deepEqual(report.problems, []);
  t.log(JSON.stringify({ ...report, problems: report.problems.length }));
  // The mutations must reach every path, or the fuzz proves less than it seems to.
  t.true(report.recordsChecked > 100_000);
  t.true(report.headerRefusals > 0);
  t.true(report.corruptRegionsSkipped > 100);
  t.true(report.tornTails > 100);
  t.true(report.recoveriesChecked >= 100);
});

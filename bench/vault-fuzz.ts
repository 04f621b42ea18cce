/**
 * A longer run of the segment reader fuzz than the test suite affords:
 *   node dist/bench/vault-fuzz.js [cases=100000] [seed=random]
 * Prints the report as JSON and exits 1 when any case failed; a failure names its seed and
 * case number, so it can be replayed with the same arguments.
 */
import { rmSync } from 'node:fs';
import { setLogLevel } from '../src/common/log';
import { scratchDir } from '../test/helpers/engine';
import { runFuzz } from '../test/fixtures/vault-fuzz';

setLogLevel('error');
const cases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 32));
const dir = scratchDir('vault-fuzz-');
const started = process.hrtime.bigint();
try {
  const report = runFuzz({ seed, cases, dir });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ seed, seconds: Math.round(seconds * 10) / 10, ...report }, null, 2));
  process.exitCode = report.problems.length === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

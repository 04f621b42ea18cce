import test from 'ava';
import { runSpike } from '../bench/spike-scenario';
import { cgroupMissing } from './helpers/cgroup';

const MiB = 1024 * 1024;

const skip = cgroupMissing();

(skip === undefined ? test : test.skip)(`20x spike in a 256 MiB cgroup, on the defaults: nothing OOM-killed, usage under the limit, Red and back to Green, every acknowledged record delivered${skip === undefined ? '' : ` (skipped: ${skip})`}`, async (t) => {
  t.timeout(170_000);
  const report = await runSpike({
    limitBytes: 256 * MiB,
    sinkRecordsPerSecond: 2000,
    factor: 20,
    windowSeconds: 15,
    sdkRecordsPerSecond: 1000,
    generatorBatch: 1000,
    settleTimeoutMs: 90_000,
  });
  if (typeof report === 'string') throw new Error(`the cgroup could not be made: ${report}`);
  t.log(JSON.stringify({ ...report, generator: { ok: report.generator.logs_ok, refused: report.generator.requests_refused, errors: report.generator.errors_by_status } }, null, 1));
  t.is(report.oomKills, 0, 'no process OOM-killed');
  t.deepEqual(report.childDeaths, [], 'no child died');
  t.true(report.peakBytes < report.limitBytes, `peak ${report.peakBytes} under the limit ${report.limitBytes}`);
  t.true(report.wentRed, 'the zone went Red');
  t.true(report.backToGreen, 'and came back to Green');
  t.is(report.sdkIdsMissing, 0, 'every record the SDK got an OK for is at the downstream');
  t.true(report.receivedRecords >= report.acknowledgedRecords, `${report.receivedRecords} received of ${report.acknowledgedRecords} acknowledged`);
  t.deepEqual(report.generator.errors_by_status, {}, 'every refusal the generator saw was UNAVAILABLE (retryable)');
  t.deepEqual(Object.keys(report.sdk.failuresByCode).filter((code) => code !== '14'), [], 'every SDK failure was UNAVAILABLE (retryable)');
});

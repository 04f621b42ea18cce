import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../src/common/config';
import { ZoneCause, ZoneCell } from '../src/common/zone-cell';
import { ZonePolicy, type PressureSample, type ZoneDecision } from '../src/supervisor/zone-policy';

const zones = validateConfig({ zones: { yellow: 0.7, red: 0.85, recover: 0.6, min_dwell_ms: 1000, ewma_alpha: 0.2 } }).zones;
const calm: PressureSample = { memory: 0.3, psiSome: 0, psiFired: false, greenRing: 0 };

/** Feeds samples one per 10 ms from `start`, returning every decision. */
function run(policy: ZonePolicy, start: ZoneDecision, samples: PressureSample[], fromMs = 0): ZoneDecision[] {
  const out: ZoneDecision[] = [];
  let d = start;
  samples.forEach((s, i) => {
    d = policy.next(d, s, fromMs + i * 10);
    out.push(d);
  });
  return out;
}

test('one sample past the red threshold turns the zone Red at once, naming the cause', (t) => {
  const policy = new ZonePolicy(zones);
  const [first, second] = run(policy, { zone: 'green', causes: 0, sinceMs: 0 }, [calm, { ...calm, memory: 0.9 }]);
  t.is(first.zone, 'green');
  t.deepEqual(second, { zone: 'red', causes: ZoneCause.Memory, sinceMs: 10 });
});

test('coming down waits for the dwell time and the moving average, and Green needs the recover threshold', (t) => {
  const policy = new ZonePolicy(zones);
  const red: ZoneDecision = { zone: 'red', causes: ZoneCause.Memory, sinceMs: 0 };
  // Memory back to 0.65: under yellow's 0.7 but above recover's 0.6.
  const settled = run(policy, red, Array(200).fill({ ...calm, memory: 0.65 }));
  t.is(settled[50].zone, 'red', 'no step down before min_dwell_ms');
  const firstYellow = settled.findIndex((d) => d.zone === 'yellow');
  t.true(firstYellow * 10 >= 1000, `stepped down at ${firstYellow * 10} ms`);
  t.is(settled.at(-1)!.zone, 'yellow', 'between recover and yellow: hysteresis holds Yellow');
  const green = run(policy, settled.at(-1)!, Array(200).fill({ ...calm, memory: 0.5 }), 2000);
  t.is(green.at(-1)!.zone, 'green');
});

test('a single calm sample in a storm does not bring the zone down', (t) => {
  const policy = new ZonePolicy(zones);
  const storm = { ...calm, memory: 0.9 };
  const ds = run(policy, { zone: 'green', causes: 0, sinceMs: 0 }, [...Array(150).fill(storm), calm, ...Array(10).fill(storm)]);
  t.true(ds.every((d, i) => i === 0 || d.zone === 'red'));
});

test('ring fill and PSI are causes of their own', (t) => {
  const policy = new ZonePolicy(zones);
  const start: ZoneDecision = { zone: 'green', causes: 0, sinceMs: 0 };
  t.deepEqual(policy.next(start, { ...calm, greenRing: 0.95 }, 0), { zone: 'red', causes: ZoneCause.Ring, sinceMs: 0 });
  t.deepEqual(new ZonePolicy(zones).next(start, { ...calm, psiSome: 0.3 }, 0), { zone: 'red', causes: ZoneCause.Psi, sinceMs: 0 });
  t.deepEqual(new ZonePolicy(zones).next(start, { ...calm, psiFired: true }, 0), { zone: 'yellow', causes: ZoneCause.Psi, sinceMs: 0 });
  t.deepEqual(new ZonePolicy(zones).next(start, { ...calm, greenRing: 0.6 }, 0), { zone: 'yellow', causes: ZoneCause.Ring, sinceMs: 0 });
});

test('thresholds out of order are refused at config time', (t) => {
  t.throws(() => validateConfig({ zones: { recover: 0.8, yellow: 0.7 } }), { message: /zones.recover \(0.8\) must not be above zones.yellow/ });
  t.throws(() => validateConfig({ zones: { psi_trigger: 'some lots' } }), { message: /zones.psi_trigger/ });
});

test('the zone cell: what one mapping publishes, another mapping of the file reads', (t) => {
  const dir = mkdtempSync('/dev/shm/gs-test-zone-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const writer = new ZoneCell(join(dir, 'zone'));
  const reader = new ZoneCell(join(dir, 'zone'));
  const before = reader.sequence();
  writer.publish('red', ZoneCause.Memory | ZoneCause.Ring, 123456789n);
  t.is(reader.zone(), 'red');
  t.is(reader.level(), 2);
  t.is(reader.causes(), ZoneCause.Memory | ZoneCause.Ring);
  t.is(reader.decidedAtNs(), 123456789n);
  t.is(reader.sequence(), before + 1);
});

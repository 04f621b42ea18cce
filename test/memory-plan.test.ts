import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { validateConfig } from '../src/common/config';
import { ConfigError } from '../src/common/errors';

const MiB = 1024 * 1024;
const limit = (mib: number): { bytes: number; source: string } => ({ bytes: mib * MiB, source: 'test' });
const grpcExporter = { exporters: [{ type: 'otlp_grpc', endpoint: '127.0.0.1:4317' }] };

for (const mib of [192, 256, 512, 1024, 4096]) {
  test(`a ${mib} MiB limit gets a plan whose worst case fits its budget, every size derived`, (t) => {
    const config = validateConfig(grpcExporter, limit(mib));
    const plan = config.memory.plan;
    t.is(plan.limit_bytes, mib * MiB);
    t.true(plan.total_bytes <= plan.budget_bytes, `${plan.total_bytes} > ${plan.budget_bytes}`);
    t.is(plan.total_bytes, Object.values(plan.parts).reduce((a, b) => a + b, 0));
    for (const [key, size] of Object.entries(plan.sizes)) t.is(size.source, 'derived', key);
    // The resolved configuration is what the plan says: children read sizes from it alone.
    t.is(config.rings.green_bytes, plan.sizes['rings.green_bytes'].value);
    t.is(config.rings.replay_bytes, plan.sizes['rings.replay_bytes'].value);
    t.is(config.ingest.max_heap_mib, plan.sizes['ingest.max_heap_mib'].value);
    t.is(config.vault.write_buffer_bytes, plan.sizes['vault.write_buffer_bytes'].value);
    // Rings full: workers × (green + red) + replay.
    t.is(plan.parts.rings, config.ingest.workers * (config.rings.green_bytes + config.rings.red_bytes) + config.rings.replay_bytes);
    // The largest request fits twice in the smaller ring.
    t.true(2 * (config.ingest.max_message_bytes + 64) <= Math.min(config.rings.green_bytes, config.rings.red_bytes));
    t.true(config.ingest.max_inflight_bytes >= config.ingest.max_message_bytes);
    t.true(config.exporters[0].type === 'otlp_grpc' && config.exporters[0].batch.max_bytes <= config.exporters[0].max_message_bytes);
  });
}

test('each ring batch a forwarding exporter has out (export.read_ahead_batches) counts its send buffers; a file exporter keeps one batch out', (t) => {
  const exporter = { type: 'otlp_grpc', endpoint: '127.0.0.1:4317', max_in_flight: 4, batch: { max_bytes: MiB } };
  const one = validateConfig({ exporters: [exporter], export: { read_ahead_batches: 1 } }, limit(1024));
  const three = validateConfig({ exporters: [exporter], export: { read_ahead_batches: 3 } }, limit(1024));
  t.is(validateConfig({ exporters: [exporter] }, limit(1024)).export.read_ahead_batches, 2);
  t.is(three.export.read_ahead_batches, 3);
  // Send buffers and the transport's copy: 2 × max_in_flight × batch.max_bytes per batch out.
  t.is(three.memory.plan.parts.export_buffers - one.memory.plan.parts.export_buffers, 2 * 2 * 4 * MiB);
  const withFile = validateConfig({ exporters: [exporter, { type: 'file' }], export: { read_ahead_batches: 3 } }, limit(1024));
  t.is(withFile.export.read_ahead_batches, 1);
  t.throws(() => validateConfig({ exporters: [exporter], export: { read_ahead_batches: 0 } }, limit(1024)), { instanceOf: ConfigError });
});

test('sizes grow with the limit and stop at their ceilings', (t) => {
  const small = validateConfig({}, limit(256));
  const large = validateConfig({}, limit(4096));
  t.is(small.ingest.workers, 1);
  t.true(large.ingest.workers >= 1);
  t.true(large.rings.green_bytes > small.rings.green_bytes);
  t.true(large.export.max_heap_mib > small.export.max_heap_mib);
  t.true(large.rings.green_bytes <= 64 * MiB);
});

test('a size set in the file wins and is shown as explicit; the rest is planned around it', (t) => {
  const config = validateConfig({ ingest: { workers: 2 }, rings: { red_bytes: 8 * MiB } }, limit(512));
  t.is(config.ingest.workers, 2);
  t.is(config.rings.red_bytes, 8 * MiB);
  t.is(config.memory.plan.sizes['rings.red_bytes'].source, 'explicit');
  t.is(config.memory.plan.sizes['ingest.workers'].source, 'explicit');
  t.is(config.memory.plan.sizes['rings.green_bytes'].source, 'derived');
  // The receivers' limits follow the smaller ring.
  t.true(config.ingest.max_message_bytes <= 4 * MiB);
});

test('explicit sizes that cannot fit are refused, naming the keys, the plan and the limit', (t) => {
  const err = t.throws(() => validateConfig({ rings: { green_bytes: 64 * MiB, red_bytes: 64 * MiB } }, limit(256)), { instanceOf: ConfigError });
  t.is((err as ConfigError).code, 'GS_CONFIG_INVALID');
  t.regex(err!.message, /the memory plan needs [\d.]+ MiB \(runtime .*rings [\d.]+ MiB.*\) but may use 217\.6 MiB, 0\.85 of the 256 MiB memory limit \(test\)/);
  t.regex(err!.message, /lower rings\.green_bytes, rings\.red_bytes \(set in the configuration\) or raise the limit/);
});

test('below the smallest limit the layout can honour, the start is refused with that minimum', (t) => {
  const err = t.throws(() => validateConfig({}, limit(128)), { instanceOf: ConfigError });
  t.regex(err!.message, /needs a memory limit of at least (\d+) MiB/);
  const minimum = Number(/at least (\d+) MiB/.exec(err!.message)![1]);
  t.notThrows(() => validateConfig({}, limit(minimum)));
});

test('the limit comes from memory.limit_bytes (with units) before GOPHERSHIP_MEMORY_LIMIT before detection', (t) => {
  t.is(validateConfig({ memory: { limit_bytes: '512MiB' } }, limit(256)).memory.plan.limit_source, 'memory.limit_bytes');
  t.is(validateConfig({ memory: { limit_bytes: '512Mi' } }).memory.limit_bytes, 512 * MiB);
  t.is(validateConfig({ memory: { limit_bytes: 1024 * MiB } }).memory.limit_bytes, 1024 * MiB);
  t.throws(() => validateConfig({ memory: { limit_bytes: 'lots' } }), { message: /memory\.limit_bytes/ });
  t.throws(() => validateConfig({ memory: { fraction: 0.99 } }), { message: /memory\.fraction/ });
  const detected = validateConfig({});
  t.regex(detected.memory.plan.limit_source, /^(cgroup-v[12] \/|host MemTotal|GOPHERSHIP_MEMORY_LIMIT)/);
});

test('check-config --plan prints each size with its source and the worst case against the budget', (t) => {
  const cli = join(__dirname, '../src/supervisor/cli.js');
  const r = spawnSync(process.execPath, [cli, 'check-config', '--plan'], { encoding: 'utf8', env: { ...process.env, GOPHERSHIP_MEMORY_LIMIT: '256Mi' } });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /memory limit 256\.0 MiB \(GOPHERSHIP_MEMORY_LIMIT\); the plan may use 0\.85 of it: 217\.6 MiB/);
  t.regex(r.stdout, /rings\.green_bytes\s+[\d.]+ MiB\s+derived/);
  t.regex(r.stdout, /total\s+[\d.]+ MiB\s+of 217\.6 MiB/);
});

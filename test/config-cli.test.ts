import test from 'ava';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOPHERSHIP, scratchDir } from './helpers/engine';
import { validateConfig } from '../src/common/config';

function checkConfig(yaml: string): { status: number | null; stdout: string; stderr: string } {
  const dir = scratchDir('test-config-');
  try {
    const path = join(dir, 'gophership.yaml');
    writeFileSync(path, yaml);
    return gophership('check-config', '--config', path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function gophership(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [GOPHERSHIP, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown key is refused with its full path, its line and column, and the keys allowed there; exit 1, no usage', (t) => {
  const r = checkConfig('ingest:\n  otlp_grpc:\n    lisen: ["127.0.0.1:4317"]\n');
  t.is(r.status, 1);
  t.regex(r.stderr, /^gophership check-config: GS_CONFIG_INVALID: \S+gophership\.yaml:3:5: unknown key ingest\.otlp_grpc\.lisen \(allowed here: listen,/);
  t.notRegex(r.stderr, /Usage Error|\$ gophership/);
  t.is(r.stdout, '');
});

test('a value of the wrong type names the key, where it is, what was expected and what was given', (t) => {
  const r = checkConfig('data_dir: ./var\nrings:\n  green_bytes: lots\n');
  t.is(r.status, 1);
  t.regex(r.stderr, /gophership\.yaml:3:3: Expected an integer from \d+ to \d+ for rings\.green_bytes but received "lots"/);
});

test('a key inside a list is found by its index', (t) => {
  const r = checkConfig('exporters:\n  - type: file\n  - type: otlp\n');
  t.is(r.status, 1);
  t.regex(r.stderr, /gophership\.yaml:3:5: Expected one of .* for exporters\[1\]\.type but received "otlp"/);
});

test('a missing file is GS_CONFIG_INVALID, exit 1; an option without its value is a usage error, exit 2, as in gs-ctl', (t) => {
  const missing = gophership('check-config', '--config', '/nonexistent/gophership.yaml');
  t.is(missing.status, 1);
  t.regex(missing.stderr, /GS_CONFIG_INVALID: cannot read config file \/nonexistent\/gophership\.yaml/);
  t.notRegex(missing.stderr, /Usage Error/);
  for (const args of [['check-config', '--config'], ['run', '--bogus']]) {
    const usage = gophership(...args);
    t.is(usage.status, 2, args.join(' '));
    t.regex(usage.stderr, /\$ gophership \S+ \[--config,-c <file>\]/, 'the usage names the value, not #0');
  }
});

test('run refuses an invalid file the same way, before starting anything', (t) => {
  const dir = scratchDir('test-config-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'gophership.yaml');
  writeFileSync(path, `data_dir: ${join(dir, 'var')}\nlog_level: loud\n`);
  const r = gophership('run', '--config', path);
  t.is(r.status, 1);
  t.regex(r.stderr, /^gophership run: GS_CONFIG_INVALID: \S+:2:1: .*log_level/);
});

test('no file at all gives the embedded defaults', (t) => {
  const config = validateConfig({});
  t.is(config.data_dir, join(process.cwd(), 'var'));
  t.deepEqual(config.ingest.otlp_grpc.listen[0], { kind: 'tcp', host: '127.0.0.1', port: 4317 });
  t.deepEqual(config.ingest.otlp_grpc.listen[1], { kind: 'unix', path: join(process.cwd(), 'var', 'otlp-grpc.sock') });
  t.like(config.exporters[0], { type: 'file', path: join(process.cwd(), 'var', 'out', 'logs.jsonl') });
  t.is(config.ingest.max_message_bytes, 16 * 1024 * 1024);
});

test('a ring too small for the largest message is refused with the fix in the message', (t) => {
  t.throws(() => validateConfig({ ingest: { max_message_bytes: 16 * 1024 * 1024 }, rings: { green_bytes: 1024 * 1024 } }), { message: /must be at least twice ingest\.max_message_bytes/ });
});

test('listen addresses accept host:port, [v6]:port and unix:PATH and nothing else', (t) => {
  const c = validateConfig({ ingest: { otlp_grpc: { listen: ['[::1]:4317', 'localhost:1', 'unix:/tmp/x.sock'] } } });
  t.deepEqual(c.ingest.otlp_grpc.listen, [
    { kind: 'tcp', host: '::1', port: 4317 },
    { kind: 'tcp', host: 'localhost', port: 1 },
    { kind: 'unix', path: '/tmp/x.sock' },
  ]);
  t.throws(() => validateConfig({ ingest: { otlp_grpc: { listen: ['4317'] } } }), { message: /ingest\.otlp_grpc\.listen\[0\]/ });
});

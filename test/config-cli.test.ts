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
    const r = spawnSync(process.execPath, [GOPHERSHIP, 'check-config', '--config', path], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an unknown key is refused with its full path and the keys allowed there', (t) => {
  const r = checkConfig('ingest:\n  otlp_grpc:\n    lisen: ["127.0.0.1:4317"]\n');
  t.is(r.status, 1);
  t.regex(r.stdout + r.stderr, /GS_CONFIG_INVALID: unknown key ingest\.otlp_grpc\.lisen \(allowed here: listen,/);
});

test('a value of the wrong type names the key, what was expected and what was given', (t) => {
  const r = checkConfig('rings:\n  green_bytes: lots\n');
  t.is(r.status, 1);
  t.regex(r.stdout + r.stderr, /Expected an integer from \d+ to \d+ for rings\.green_bytes but received "lots"/);
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

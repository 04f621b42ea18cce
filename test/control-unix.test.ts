import test from 'ava';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineStatusMessage } from '../src/common/control-proto';
import { scratchDir, startEngine } from './helpers/engine';
import { gsCtl, gsCtlIn } from './helpers/gs-ctl';
import { countIds } from './helpers/output';
import { sdkSender, sendRecords } from './helpers/otel-sdk';

const AS_USER = join(__dirname, 'fixtures', 'control-as-user.js');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0 ? test : test.skip;

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test('gs-ctl status over the Unix socket shows children, rings, vault, replay and exporters', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const run = await gsCtl('status', '--config', engine.configPath, '--json');
  t.is(run.code, 0, run.stderr);
  const s = JSON.parse(run.stdout) as EngineStatusMessage;
  t.is(s.pid, engine.process.pid!);
  for (const name of ['ingest-0', 'ingest-1', 'export-0', 'vault-0']) {
    const child = s.children.find((c) => c.name === name);
    t.is(child?.pid ?? 0, await engine.childPid(name), name);
    t.is(child?.restarts, 0);
  }
  t.deepEqual(s.rings.map((r) => r.name), ['green-0', 'green-1', 'red-0', 'red-1', 'replay']);
  t.is(s.rings[0].capacity_bytes, 64 * 1024 * 1024);
  t.is(s.vault.dir, join(engine.dir, 'vault'));
  t.is(s.replay.state, 'idle');
  t.deepEqual(s.exporters.map((e) => [e.name, e.last_error]), [['export-0', '']]);
  t.is(s.zone?.zone, 'green');
  t.is(s.zone?.mode, 'auto');
  t.true(['cgroup-v2', 'cgroup-v1', 'host'].includes(s.zone?.inputs?.source ?? ''), 'where the memory limit comes from');
  t.true(Number(s.zone?.inputs?.limit_bytes) > 0);
  t.is(s.zone_error, '');
  t.false(s.draining);

  const text = await gsCtl('status', '--config', engine.configPath);
  t.is(text.code, 0);
  t.regex(text.stdout, /^ {2}vault-0 +pid \d+, up [\dhms]+, 0 restarts$/m);

  t.is(mode(engine.dir), 0o700, 'data_dir is the engine user\'s alone');
  t.is(mode(join(engine.dir, 'control.sock')), 0o660);
  t.is(mode(engine.grpcSocket), 0o660);
  t.is(mode(join(engine.dir, 'vault')), 0o700);
  t.is(mode(join(engine.ringDir, 'green-0.ring')), 0o600);
  t.is(mode(join(engine.dir, 'gophership.pid')), 0o600);

  t.is(await engine.stop(), 0);
  chmodSync(engine.dir, 0o770);
  const again = await engine.relaunch();
  t.teardown(() => again.stop());
  const warned = await again.waitForLog((l) => l.msg.startsWith('data_dir is writable by its group or by others'));
  t.is(warned.mode, '770');
});

test('gs-ctl zone red pins the zone: the next requests go to the vault, and zone auto gives the zone back to the monitor', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const red = await gsCtl('zone', 'red', '--config', engine.configPath, '--json');
  t.is(red.code, 0, red.stderr);
  t.like(JSON.parse(red.stdout), { zone: 'red', mode: 'red' });
  await engine.waitForLog((l) => l.msg === 'zone changed' && l.zone === 'red');

  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'pinned', 100), { delivered: 100, failed: 0 });
  const metrics = await fetch(`http://127.0.0.1:${engine.metricsPort}/metrics`).then((r) => r.text());
  t.regex(metrics, /^gophership_ingest_routed_requests_total\{ring="red"\} [1-9]/m, 'the requests took the red ring');
  t.regex(metrics, /^gophership_zone\{zone="red"\} 1$/m);

  const auto = await gsCtl('zone', 'auto', '--config', engine.configPath, '--json');
  t.is(auto.code, 0, auto.stderr);
  t.is(JSON.parse(auto.stdout).mode, 'auto');
  await engine.waitForLog((l) => l.msg === 'zone changed' && l.zone === 'green');
  const bad = await gsCtl('zone', 'purple', '--config', engine.configPath);
  t.is(bad.code, 2, 'an unknown zone is a usage error');
  t.is(await engine.stop(), 0);
});

asRoot('a uid outside control.allowed_uids is refused by SO_PEERCRED and logged; an allowed uid is answered', async (t) => {
  // The socket lives in a directory anyone may enter, and the test opens the socket file to
  // everyone (0666): the file mode lets nobody connect, so the refusal can only come from the
  // engine's SO_PEERCRED check.
  const socketDir = mkdtempSync(join(tmpdir(), 'gs-control-'));
  chmodSync(socketDir, 0o755);
  t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  const socket = join(socketDir, 'control.sock');
  const engine = await startEngine({ control: { socket, allowed_uids: [0] } });
  t.teardown(() => engine.cleanup());
  chmodSync(socket, 0o666);

  const asUser = async (uid: number): Promise<Record<string, unknown> & { childPid: number }> => {
    const child = execFile(process.execPath, [AS_USER, `unix:${socket}`, String(uid), String(uid)]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    await once(child, 'exit');
    return { ...(JSON.parse(out) as Record<string, unknown>), childPid: child.pid! };
  };

  const refused = await asUser(NOBODY);
  t.is(refused.uid, NOBODY);
  t.is(refused.exitCode, 4, 'gs-ctl exit code for a refusal');
  t.regex(refused.message as string, /PERMISSION_DENIED|GS_CONTROL_DENIED: uid 65534 may not use the control plane/);
  const line = await engine.waitForLog((l) => l.msg === 'control connection refused: uid not in control.allowed_uids');
  t.is(line.uid, NOBODY);
  t.is(line.peerPid, refused.childPid);

  const allowed = await asUser(0);
  t.deepEqual({ uid: allowed.uid, pid: allowed.pid }, { uid: 0, pid: engine.process.pid });
});

test('gs-ctl drain flushes the rings, reports, and the engine exits 0 with every record exported', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const total = 3000;
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'dr', total), { delivered: total, failed: 0 });

  const exited = once(engine.process, 'exit');
  const run = await gsCtl('drain', '--config', engine.configPath, '--json');
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { ring_bytes_left: number; rings: unknown[] };
  t.is(report.ring_bytes_left, 0);
  t.is(report.rings.length, 5);
  const [code] = (await exited) as [number];
  t.is(code, 0);
  const out = countIds(engine.outputPath);
  const missing = [];
  for (let i = 0; i < total; i++) if (!out.has(`dr-${i}`)) missing.push(i);
  t.deepEqual(missing, []);
});

test('gs-ctl status shows an exporter\'s backlog and its last error', async (t) => {
  // /dev/full fails every write with ENOSPC: the batch stays in the ring and is retried.
  const engine = await startEngine({ exporters: [{ type: 'file', path: '/dev/full' }], supervisor: { shutdown_timeout_ms: 500 } });
  t.teardown(() => engine.cleanup());
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  sender.emit('stuck');
  t.deepEqual(await sender.flush(), { delivered: 1, failed: 0 });
  await sender.shutdown();
  await engine.waitForLog((l) => l.msg === 'exporter failed; retrying this batch for it alone');
  const run = await gsCtl('status', '--config', engine.configPath, '--json');
  t.is(run.code, 0, run.stderr);
  const [exporter] = (JSON.parse(run.stdout) as EngineStatusMessage).exporters;
  t.true(exporter.backlog_bytes > 0, 'the record waits in the green ring');
  t.regex(exporter.last_error, /^green-\d file\[0\]: GS_SINK_IO: cannot append \d+ bytes to \/dev\/full: ENOSPC/);
  t.true(exporter.last_error_ms > 0);
});

test('gs-ctl with no engine at the address exits 3 with a one-line reason', async (t) => {
  const run = await gsCtl('status', '--addr', `unix:${join(tmpdir(), 'gs-no-such-engine.sock')}`);
  t.is(run.code, 3);
  t.regex(run.stderr, /^gs-ctl status: no control socket at \S+gs-no-such-engine\.sock \(--addr\); is the engine running\? Point gs-ctl at it with --config FILE .*--socket PATH.*\n$/);
});

test('gs-ctl on the embedded defaults, run where no engine is, names the socket it looked for and how to point elsewhere', async (t) => {
  const dir = scratchDir('test-ctl-cwd-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = await gsCtlIn(dir, 'status');
  t.is(run.code, 3);
  t.is(run.stderr.trim().split('\n').length, 1, 'one line');
  t.true(run.stderr.includes(`no control socket at ${join(dir, 'var', 'control.sock')} (control.socket of the embedded defaults, no --config)`), run.stderr);
  t.regex(run.stderr, /--config FILE .*--socket PATH/);
});

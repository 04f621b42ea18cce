/**
 * Another local user knocking on the control socket, a thousand times: each knock is refused,
 * counted, and summed into a few log lines, and the supervisor's memory does not grow with them.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from '../bench/child-io';
import { makePki } from './helpers/certs';
import { startEngine } from './helpers/engine';
import { isRoot, nobodyArgv } from './helpers/hostile';
import { scrapeUntil, valueOf } from './helpers/metrics';

const CONNECT_MANY = join(__dirname, 'fixtures', 'connect-many.js');
const AS_USER = join(__dirname, 'fixtures', 'control-as-user.js');
const KNOCKS = 1000;
const WARM_UP = 50;
/** Generous: the refusals must not cost the supervisor memory in proportion to their number. */
const MAX_RSS_GROWTH_BYTES = 10 * 1024 * 1024;

const rootOnly = isRoot ? test : test.skip;
if (!isRoot) test('the hostile control test needs root to connect as uid 65534 through setpriv', (t) => t.pass());

function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

async function knock(socket: string, count: number): Promise<number> {
  const [cmd, ...args] = nobodyArgv([process.execPath, CONNECT_MANY, socket, String(count), '25']);
  const child = execFile(cmd!, args);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  await once(child, 'exit');
  return Number(out.trim());
}

rootOnly('1,000 refused control connections are counted, logged in a few lines with counts, and leave the supervisor\'s memory alone', async (t) => {
  const socketDir = mkdtempSync(join(tmpdir(), 'gs-control-'));
  chmodSync(socketDir, 0o755);
  t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  const socket = join(socketDir, 'control.sock');
  const engine = await startEngine({ ingest: { workers: 1 }, control: { socket, allowed_uids: [0] } });
  t.teardown(() => engine.cleanup());
  chmodSync(socket, 0o666);
  const pid = engine.process.pid!;

  t.is(await knock(socket, WARM_UP), WARM_UP);
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_control_refused_connections_total', { reason: 'uid' }) === WARM_UP);
  const heap = async (): Promise<number> => valueOf(await scrapeUntil(engine.metricsPort, () => true), 'nodejs_heap_size_used_bytes', { process: 'supervisor' }) ?? 0;
  const heapBefore = await heap();
  const before = rssBytes(pid);
  t.is(await knock(socket, KNOCKS), KNOCKS);
  const scrape = await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_control_refused_connections_total', { reason: 'uid' }) === WARM_UP + KNOCKS);
  const after = rssBytes(pid);
  t.log(`supervisor heap used ${((await heap()) - heapBefore) / 2 ** 20} MiB more`);
  t.log(`supervisor RSS ${(before / 2 ** 20).toFixed(1)} MiB before, ${(after / 2 ** 20).toFixed(1)} MiB after ${KNOCKS} refusals`);
  t.true(after - before < MAX_RSS_GROWTH_BYTES, `RSS grew by ${after - before} bytes`);
  t.is(valueOf(scrape, 'gophership_control_refused_connections_total', { reason: 'tls_handshake' }), 0);

  const summary = await engine.waitForLog((l) => l.msg === 'control connections refused');
  const refused = summary.refused as Array<{ reason: string; peer: string; count: number }>;
  t.is(refused[0].peer, 'uid 65534');
  t.true(refused[0].count > 1, 'one line stands for many refusals');
  const lines = engine.logs.filter((l) => /^control connections? refused/.test(l.msg));
  t.true(lines.length <= 3, `${lines.length} log lines for ${WARM_UP + KNOCKS} refusals`);
  t.is(lines[0].uid, 65534, 'the first refusal names the uid');

  // After the flood, a refused caller still learns why.
  const asNobody = execFile(process.execPath, [AS_USER, `unix:${socket}`, '65534', '65534']);
  let out = '';
  asNobody.stdout!.on('data', (d: Buffer) => (out += d));
  await once(asNobody, 'exit');
  const refusedCall = JSON.parse(out) as { exitCode: number; message: string };
  t.is(refusedCall.exitCode, 4);
  t.regex(refusedCall.message, /GS_CONTROL_DENIED: uid 65534 may not use the control plane \(control.allowed_uids: 0\)/);
  t.is(await engine.stop(), 0);
});

test('failed TLS handshakes on the control TCP listener are counted and summed, with the client address', async (t) => {
  const pkiDir = mkdtempSync(join(tmpdir(), 'gs-control-pki-'));
  t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
  const pki = makePki(pkiDir);
  const port = await freePort();
  const engine = await startEngine({ ingest: { workers: 1 }, control: { tcp: { listen: `127.0.0.1:${port}`, tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } } } });
  t.teardown(() => engine.cleanup());
  // Clients without a certificate that hang up, or speak plaintext: no handshake completes.
  const HANDSHAKES = 40;
  for (let i = 0; i < HANDSHAKES; i++) {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end(i % 2 === 0 ? 'GET / HTTP/1.1\r\n\r\n' : '');
    await once(socket, 'close');
  }
  await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_control_refused_connections_total', { reason: 'tls_handshake' }) === HANDSHAKES);
  const first = await engine.waitForLog((l) => l.msg === 'control tls handshake refused');
  t.is(first.remote, '127.0.0.1', 'the client address is named even when it hung up');
  const summary = await engine.waitForLog((l) => l.msg === 'control connections refused');
  t.deepEqual(summary.refused, [{ reason: 'tls_handshake', peer: '127.0.0.1', count: HANDSHAKES - 1 }]);
  t.is(engine.logs.filter((l) => /^control (tls|connections)/.test(l.msg)).length, 2);
  t.is(await engine.stop(), 0);
});

import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachRing } from '../src/common/ring';
import { ringPath } from '../src/common/ring-layout';
import { startEngine, type Engine } from './helpers/engine';
import { openLines, readLinesOutput, readVaultLines, sendLines } from './helpers/lines';

const MiB = 1024 * 1024;
const MAX_LINE = 64 * 1024;
const RING_BYTES = 512 * 1024;

function peakRssKib(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** One worker, small rings and limits: what it holds is easy to see. */
async function smallEngine(t: ExecutionContext): Promise<Engine> {
  const engine = await startEngine({
    ingest: {
      workers: 1,
      max_message_bytes: 64 * 1024,
      max_inflight_bytes: 128 * 1024,
      otlp_http: { max_body_bytes: 64 * 1024 },
      lines: { max_line_bytes: MAX_LINE, long_lines: 'truncate' },
    },
    rings: { green_bytes: RING_BYTES, red_bytes: RING_BYTES },
  });
  t.teardown(() => engine.cleanup());
  return engine;
}

test('a 100 MiB line is truncated to max_line_bytes without the worker holding it', async (t) => {
  const engine = await smallEngine(t);
  const pid = await engine.childPid('ingest-0');
  const before = peakRssKib(pid);
  const piece = Buffer.alloc(MiB, 'a');
  await sendLines({ port: engine.linesPort }, (function* () {
    yield 'first\n';
    for (let i = 0; i < 100; i++) yield piece;
    yield '\nlast\n';
  })());
  // Far below the line: what it holds is one 64 KiB partial line; the rest is Node's
  // 64 KiB read buffers waiting for the garbage collector.
  const grownMib = (peakRssKib(pid) - before) / 1024;
  t.true(grownMib < 48, `the worker's peak RSS grew by ${grownMib.toFixed(1)} MiB for a 100 MiB line`);
  t.is(await engine.stop(), 0);
  const { bodies } = readLinesOutput(engine.outputPath);
  t.deepEqual([...bodies.keys()].map((b) => (b.length > 10 ? `${b[0]} x ${b.length}` : b)).sort(), ['a x 65536', 'first', 'last'].sort());
});

test('with both rings full the connection stops reading (TCP backpressure) and resumes when there is room', async (t) => {
  const engine = await smallEngine(t);
  const stopped = [await engine.childPid('export-0'), await engine.childPid('vault-0')];
  const green = attachRing(ringPath(engine.ringDir, 'green', 0));
  const red = attachRing(ringPath(engine.ringDir, 'red', 0));
  const pid = await engine.childPid('ingest-0');
  const before = peakRssKib(pid);
  const lines = Array.from({ length: 100_000 }, (_, i) => `bp-${i} ${'x'.repeat(150)}\n`);
  for (const p of stopped) process.kill(p, 'SIGSTOP');
  const socket = await openLines({ port: engine.linesPort });
  let sent = 0;
  try {
    // Write until the kernel buffers and both rings are full and the socket stops draining.
    while (sent < lines.length) {
      if (socket.write(lines[sent++])) continue;
      const full = green.used() > RING_BYTES - 2 * MAX_LINE && red.used() > RING_BYTES - 2 * MAX_LINE;
      if (full && socket.writableLength > 4 * MiB) break;
      if (!full) await once(socket, 'drain');
    }
    t.true(sent < lines.length, `the sender is held back after ${sent} lines, ${(socket.writableLength / MiB).toFixed(1)} MiB unsent`);
    const grownMib = (peakRssKib(pid) - before) / 1024;
    t.true(grownMib < 16, `the worker grew by ${grownMib.toFixed(1)} MiB while refusing to read`);
  } finally {
    for (const p of stopped) process.kill(p, 'SIGCONT');
  }
  for (; sent < lines.length; sent++) if (!socket.write(lines[sent])) await once(socket, 'drain');
  socket.end();
  await once(socket, 'close');
  t.is(await engine.stop(), 0);

  const exported = readLinesOutput(engine.outputPath).bodies;
  const vaulted = readVaultLines(join(engine.dir, 'vault'));
  const wrong = lines.map((l) => l.slice(0, -1)).filter((line) => (exported.get(line) ?? 0) + (vaulted.get(line) ?? 0) !== 1);
  t.deepEqual(wrong.slice(0, 5), [], 'every line is exported or vaulted, once');
});

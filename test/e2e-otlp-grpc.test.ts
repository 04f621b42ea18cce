import test from 'ava';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { sdkSender } from './helpers/otel-sdk';

const PER_TRANSPORT = 20_000;

test('20,000 records over TCP and 20,000 over the Unix socket each arrive exactly once', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const tcp = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  const unix = sdkSender(`unix://${engine.grpcSocket}`);
  for (let i = 0; i < PER_TRANSPORT; i++) {
    tcp.emit(`tcp-${i}`);
    unix.emit(`unix-${i}`);
  }
  const [viaTcp, viaUnix] = await Promise.all([tcp.flush(), unix.flush()]);
  await Promise.all([tcp.shutdown(), unix.shutdown()]);
  t.deepEqual(viaTcp, { delivered: PER_TRANSPORT, failed: 0 });
  t.deepEqual(viaUnix, { delivered: PER_TRANSPORT, failed: 0 });

  t.is(await engine.stop(), 0, 'SIGTERM drains and exits 0');
  const counts = countIds(engine.outputPath);
  const wrong = [];
  for (const prefix of ['tcp', 'unix']) {
    for (let i = 0; i < PER_TRANSPORT; i++) {
      const n = counts.get(`${prefix}-${i}`) ?? 0;
      if (n !== 1) wrong.push(`${prefix}-${i}: ${n}`);
    }
  }
  t.deepEqual(wrong.slice(0, 10), [], 'every record is in the output exactly once');
  t.is(counts.size, 2 * PER_TRANSPORT);
});

test('an exporter SIGKILLed during the run is restarted and no acknowledged record is lost', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`, 200);
  const total = 20_000;
  let killedPid = 0;
  for (let i = 0; i < total; i++) {
    sender.emit(`k-${i}`);
    if (i === total / 4) await sender.flush();
    if (i === total / 4) {
      killedPid = await engine.childPid('export-0');
      process.kill(killedPid, 'SIGKILL');
    }
  }
  const result = await sender.flush();
  await sender.shutdown();
  t.deepEqual(result, { delivered: total, failed: 0 });
  const restarted = await engine.waitForLog((l) => l.msg === 'child ready' && l.child === 'export-0' && l.childPid !== killedPid);
  t.true((restarted.restarts as number) >= 1);
  const exit = await engine.waitForLog((l) => l.msg === 'child exited unexpectedly; restarting' && l.childPid === killedPid);
  t.is(exit.signal, 'SIGKILL');

  t.is(await engine.stop(), 0);
  const counts = countIds(engine.outputPath);
  const missing = [];
  for (let i = 0; i < total; i++) if (!counts.has(`k-${i}`)) missing.push(i);
  t.deepEqual(missing.slice(0, 10), [], 'every acknowledged record is in the output at least once');
  t.log(`records seen twice after the kill: ${[...counts.values()].filter((n) => n > 1).length}`);
});

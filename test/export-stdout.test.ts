import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { freePort } from '../bench/child-io';
import { GOPHERSHIP, scratchDir } from './helpers/engine';
import { sendRecords } from './helpers/otel-sdk';

// startEngine hands the engine's stdout to the test runner; this test needs to read it.
test('the stdout exporter writes each request as one OTLP/JSON line on the engine\'s standard output', async (t) => {
  const dir = scratchDir('test-stdout-');
  const ringDir = mkdtempSync('/dev/shm/gs-test-rings-');
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(ringDir, { recursive: true, force: true });
  });
  const port = await freePort();
  const configPath = join(dir, 'gophership.yaml');
  // No default port: another engine on this machine may hold it (and a second engine there is refused).
  writeFileSync(configPath, stringify({ data_dir: dir, ingest: { workers: 1, otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } }, rings: { dir: ringDir }, exporters: [{ type: 'stdout' }], metrics: { enabled: false } }));
  const engine = spawn(process.execPath, [GOPHERSHIP, 'run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => engine.kill('SIGKILL'));
  const lines: string[] = [];
  createInterface({ input: engine.stdout! }).on('line', (line) => lines.push(line));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: engine.stderr! }).on('line', (line) => {
      if (line.includes('"engine ready"')) resolve();
    });
    engine.once('exit', (code) => reject(new Error(`engine exited with ${code} before it was ready`)));
  });

  t.deepEqual(await sendRecords(`http://127.0.0.1:${port}`, 's', 10), { delivered: 10, failed: 0 });
  engine.kill('SIGTERM');
  const [code] = await once(engine, 'exit');
  t.is(code, 0);

  const ids = lines.flatMap((line) => {
    const request = JSON.parse(line) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { stringValue: string } }> }> }> }> };
    return request.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => r.attributes.find((a) => a.key === 'test.id')!.value.stringValue)));
  });
  t.deepEqual(ids.sort(), Array.from({ length: 10 }, (_, i) => `s-${i}`).sort());
});

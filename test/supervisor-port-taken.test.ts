import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GOPHERSHIP, scratchDir } from './helpers/engine';

test('an ingest port held by another program stops the start at once with GS_LISTEN_FAILED, naming the address', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.teardown(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const dir = scratchDir('test-port-taken-');
  const ringDir = mkdtempSync('/dev/shm/gs-test-rings-');
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(ringDir, { recursive: true, force: true });
  });
  const config = join(dir, 'gophership.yaml');
  writeFileSync(config, stringify({ data_dir: dir, rings: { dir: ringDir }, ingest: { otlp_grpc: { listen: [`127.0.0.1:${port}`] }, otlp_http: { listen: [] }, lines: { listen: [] } }, metrics: { enabled: false } }));

  const engine = spawn(process.execPath, [GOPHERSHIP, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  engine.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(engine, 'exit')) as [number | null];
  t.is(code, 1);
  const failed = stderr.split('\n').find((line) => line.includes('"msg":"engine failed to start"')) ?? '';
  t.regex(failed, /"code":"GS_LISTEN_FAILED"/);
  t.true(failed.includes(`cannot listen on 127.0.0.1:${port} (ingest.otlp_grpc.listen): bind(127.0.0.1:${port}): Address already in use`), failed);
  t.notRegex(stderr, /"msg":"child ready"/, 'no worker was forked into a crash loop');
  t.notRegex(stderr, /draining|empty the rings/, 'nothing ran, so nothing is said to drain');
});

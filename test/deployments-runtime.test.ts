/**
 * What can be run of the deployments without Docker: the engine from the file layout the
 * Dockerfile's runtime stage builds, and the Compose demo's log producer against a live
 * engine.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { freePort } from '../bench/child-io';
import { DEPLOYMENTS } from './helpers/deployments';
import { ROOT, scratchDir, startEngine } from './helpers/engine';
import { get, scrapeUntil, valueOf } from './helpers/metrics';

test('the engine runs from the runtime stage\'s layout: package.json, node_modules, the addon, proto/ and dist/src only', async (t) => {
  const image = scratchDir('test-image-');
  const ringDir = mkdtempSync('/dev/shm/gs-test-rings-');
  t.teardown(() => {
    rmSync(image, { recursive: true, force: true });
    rmSync(ringDir, { recursive: true, force: true });
  });
  const app = join(image, 'opt/gophership');
  mkdirSync(join(app, 'build/Release'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  cpSync(join(ROOT, 'build/Release/gophership_native.node'), join(app, 'build/Release/gophership_native.node'));
  cpSync(join(ROOT, 'proto'), join(app, 'proto'), { recursive: true });
  cpSync(join(ROOT, 'dist/src'), join(app, 'dist/src'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));

  const metricsPort = await freePort();
  const config = join(image, 'gophership.yaml');
  writeFileSync(config, stringify({
    data_dir: join(image, 'data'),
    // No default port: another engine on this machine may hold it (and a second engine there is refused).
    ingest: { workers: 1, max_message_bytes: 256 * 1024, otlp_grpc: { listen: [`127.0.0.1:${await freePort()}`] }, otlp_http: { listen: [] }, lines: { listen: [] } },
    rings: { dir: ringDir, green_bytes: 1024 * 1024, red_bytes: 1024 * 1024 },
    vault: { max_bytes: 64 * 1024 * 1024 },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  }));
  // The image's ENTRYPOINT and CMD, with this test's configuration.
  const engine = spawn(process.execPath, [join(app, 'dist/src/supervisor/cli.js'), 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(engine, 'exit');
  t.teardown(() => {
    if (engine.exitCode === null) engine.kill('SIGKILL');
  });
  const said: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: engine.stderr! }).on('line', (line) => {
      said.push(line);
      if (line.includes('"engine ready"')) resolve();
    });
    exited.then(([code]) => reject(new Error(`engine exited with ${code} before it was ready:\n${said.join('\n')}`)));
  });
  await ready;
  t.is((await get(metricsPort, '/readyz')).status, 200);
  t.regex((await get(metricsPort, '/metrics')).body, /gophership_build_info\{version="\d+\.\d+\.\d+"\} 1/);
  engine.kill('SIGTERM');
  t.deepEqual(await exited, [0, null]);
});

test('the Compose demo\'s log producer delivers through the OpenTelemetry SDK to a live engine', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());
  const producer = spawn(process.execPath, [join(DEPLOYMENTS, 'compose/log-producer/producer.js')], {
    // Its own package.json names the same SDK packages the repository has as devDependencies.
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), OTLP_ENDPOINT: `http://127.0.0.1:${engine.grpcPort}`, LOGS_PER_SECOND: '500' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(producer, 'exit');
  t.teardown(() => {
    if (producer.exitCode === null) producer.kill('SIGKILL');
  });
  const [line] = (await once(createInterface({ input: producer.stdout! }), 'line')) as [string];
  t.regex(line, /^sending 500 log records a second to http:\/\/127\.0\.0\.1:\d+$/);
  await scrapeUntil(engine.metricsPort, (s) => (valueOf(s, 'gophership_export_sent_log_records_total', { exporter: 'file[0]' }) ?? 0) >= 100);
  producer.kill('SIGTERM');
  t.deepEqual(await exited, [0, null], 'it flushes and exits on SIGTERM');
  const first = JSON.parse(readFileSync(engine.outputPath, 'utf8').split('\n')[0]) as { resourceLogs: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> } }> };
  t.deepEqual(first.resourceLogs[0].resource.attributes.find((a) => a.key === 'service.name')?.value, { stringValue: 'log-producer' });
});

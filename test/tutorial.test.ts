/**
 * Runs docs/tutorial.md as written: every line of its ```sh blocks, in order, through
 * /bin/sh, in a scratch directory that stands in for the repository's top directory (so the
 * tutorial's ./var is private to this test). The only changes to the commands are those of
 * SUBSTITUTIONS below: absolute paths for what the tutorial runs from the repository, and
 * free ports instead of the default 4317/9464, which parallel tests may hold.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../bench/child-io';
import { followLog, GOPHERSHIP, ROOT, scratchDir, type FollowedLog } from './helpers/engine';
import { GS_CTL, type Run } from './helpers/gs-ctl';
import { countIds } from './helpers/output';

const TUTORIAL = join(ROOT, 'docs/tutorial.md');

/** The commands of the ```sh blocks, in order (blank lines and comments left out). */
function tutorialCommands(): string[] {
  const text = readFileSync(TUTORIAL, 'utf8');
  const commands: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1].split('\n')) {
      if (line.trim() !== '' && !line.trim().startsWith('#')) commands.push(line.trim());
    }
  }
  return commands;
}

const sq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

test('docs/tutorial.md: its commands, run as written, deliver every record, force Red, vault, replay, and export each record once', async (t) => {
  const dir = scratchDir('tutorial-');
  const ringDir = mkdtempSync('/dev/shm/gs-test-rings-');
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  // The tutorial's defaults except the TCP ports and the ring directory; data_dir stays ./var.
  const configPath = join(dir, 'tutorial-ports.yaml');
  writeFileSync(
    configPath,
    stringify({
      ingest: {
        otlp_grpc: { listen: [`127.0.0.1:${grpcPort}`] },
        otlp_http: { listen: [`127.0.0.1:${await freePort()}`] },
        lines: { listen: [`127.0.0.1:${await freePort()}`] },
      },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      rings: { dir: ringDir },
    }),
  );
  const node = sq(process.execPath);
  const SUBSTITUTIONS: Array<[RegExp, string]> = [
    [/^npm start$/, `exec ${node} ${sq(GOPHERSHIP)} run --config ${sq(configPath)}`],
    [/^npx gs-ctl /, `${node} ${sq(GS_CTL)} `],
    [/^node examples\//, `${node} ${sq(ROOT)}/examples/`],
    [/127\.0\.0\.1:9464/g, `127.0.0.1:${metricsPort}`],
  ];
  // send-logs.js reads the standard OTLP endpoint variable, as the tutorial says.
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}` };

  let engine: (FollowedLog & { kill(): void }) | undefined;
  t.teardown(async () => {
    if (engine !== undefined) {
      engine.kill();
      await engine.exited;
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(ringDir, { recursive: true, force: true });
  });

  const runs: Array<{ command: string } & Run> = [];
  for (const command of tutorialCommands()) {
    const shell = SUBSTITUTIONS.reduce((c, [pattern, replacement]) => c.replace(pattern, replacement), command);
    if (command === 'npm start') {
      // The first terminal: the engine runs for the rest of the tutorial.
      const child = spawn('/bin/sh', ['-c', shell], { cwd: dir, env, stdio: ['ignore', 'inherit', 'pipe'] });
      engine = { ...followLog(child), kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGTERM') };
      await engine.waitForLog((l) => l.msg === 'engine ready');
      continue;
    }
    const child = spawn('/bin/sh', ['-c', shell], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const [code] = (await once(child, 'close')) as [number | null];
    runs.push({ command, code, stdout, stderr });
    t.is(code, 0, `${command}\n${stderr}`);
    // The tutorial's reader waits for this line before going on (step 5).
    if (command === 'npx gs-ctl zone auto') await engine!.waitForLog((l) => l.msg === 'replay done');
  }
  t.truthy(engine, 'the tutorial starts the engine with npm start');
  const outputs = (command: string): string[] => runs.filter((r) => r.command === command).map((r) => r.stdout);

  t.deepEqual(
    runs.filter((r) => r.command.startsWith('node examples/send-logs.js')).map((r) => r.stdout.trim()),
    [`delivered 1000 of 1000 records to http://127.0.0.1:${grpcPort}`, `delivered 1000 of 1000 records to http://127.0.0.1:${grpcPort}`],
  );
  const zones = outputs('npx gs-ctl status').map((s) => /^zone: (\w+)/m.exec(s)?.[1]);
  t.deepEqual(zones, ['green', 'red', 'green'], 'status: Green at start, Red when forced, Green again after zone auto');
  t.regex(outputs('npx gs-ctl status')[2], /^vault: 0\.0 KiB, 0 requests not replayed/m);
  t.regex(outputs('npx gs-ctl status')[2], /^replay: done, [1-9]\d* requests/m);

  const vaultRecords = outputs('npx gs-ctl vault ls var/vault').map((s) => Number(/^total: \d+ segments, (\d+) records/m.exec(s)?.[1]));
  t.is(vaultRecords.length, 2);
  t.true(vaultRecords[0] > 0, 'vault ls shows the requests sent in Red');
  t.is(vaultRecords[1], 0, 'the replay deleted the segments');

  t.deepEqual(
    runs.filter((r) => r.command.startsWith('grep ')).map((r) => r.stdout.trim()),
    ['2000', '2000'],
    'the tutorial counts 2000 ids, 2000 distinct',
  );
  const ids = countIds(join(dir, 'var/out/logs.jsonl'), 'tutorial.id');
  const wrong: string[] = [];
  for (const prefix of ['green', 'red']) {
    for (let i = 0; i < 1000; i++) if (ids.get(`${prefix}-${i}`) !== 1) wrong.push(`${prefix}-${i}: ${ids.get(`${prefix}-${i}`) ?? 0}`);
  }
  t.deepEqual(wrong.slice(0, 10), [], 'every id of both sends is in the output file exactly once');
  t.is(ids.size, 2000);

  const metrics = runs.find((r) => r.command.startsWith('curl '))!.stdout;
  t.regex(metrics, /^gophership_export_sent_log_records_total\{exporter="file\[0\]"\} 2000$/m);
  t.regex(metrics, /^gophership_zone_transitions_total\{from="red",to="green"\} 1$/m);

  t.regex(outputs('npx gs-ctl drain')[0], /every ring is empty/);
  const [code] = (await engine!.exited) as [number | null];
  t.is(code, 0, 'gs-ctl drain stops the engine, which exits 0');
});

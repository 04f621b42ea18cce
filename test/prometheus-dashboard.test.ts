/**
 * A real Prometheus (Debian's `prometheus` and `promtool`, run here as plain binaries: the
 * package's own service plays no part) checks what we ship: promtool validates the compose
 * prometheus.yml, and a Prometheus scraping a live engine with that file (its target
 * rewritten) evaluates every query of the Grafana dashboard through its HTTP API. Each must
 * parse and return at least one series: a panel with "No data" on a running engine is a bug.
 * Without the binaries (.ci/run installs them with apt) the tests skip and say why.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { freePort } from '../bench/child-io';
import { DEPLOYMENTS } from './helpers/deployments';
import { startEngine } from './helpers/engine';
import { scrape } from './helpers/metrics';
import { sendRecords } from './helpers/otel-sdk';

const PROMETHEUS_YML = join(DEPLOYMENTS, 'compose/prometheus.yml');
const DASHBOARD = join(DEPLOYMENTS, 'compose/grafana/dashboards/gophership.json');
/** Scrapes after the traffic, so that every rate and increase has two samples in its window. */
const SCRAPES_AFTER_TRAFFIC = 3;
const SCRAPE_INTERVAL = '1s';
/** Served only where the kernel reports pressure stall information (docs/metrics.md). */
const PSI_METRIC = 'gophership_memory_pressure_stall_ratio';
/** Bounds the wait for those scrapes: 30 polls, half a second apart. */
const POLLS = 30;
const POLL_MS = 500;

function missingBinary(): string | undefined {
  for (const bin of ['prometheus', 'promtool']) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0) return `${bin} is not installed (apt-get install -y prometheus; .ci/run does it)`;
  }
  return undefined;
}
const missing = missingBinary();
const promTest = missing === undefined ? test.serial : test.skip;
if (missing !== undefined) console.warn(`test/prometheus-dashboard.test.ts skipped: ${missing}`);

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

promTest('promtool accepts the compose prometheus.yml', (t) => {
  const run = spawnSync('promtool', ['check', 'config', PROMETHEUS_YML], { encoding: 'utf8' });
  t.is(run.status, 0, `${run.stdout}${run.stderr}`);
});

promTest('every dashboard query, evaluated by Prometheus scraping a live engine, returns a series', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1 } });
  t.teardown(() => engine.cleanup());
  const dir = mkdtempSync(join(tmpdir(), 'gs-prometheus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The shipped file, pointed at the test engine and scraping faster.
  const config = parse(readFileSync(PROMETHEUS_YML, 'utf8')) as { global: Record<string, string>; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  config.global.scrape_interval = SCRAPE_INTERVAL;
  config.global.evaluation_interval = SCRAPE_INTERVAL;
  const job = config.scrape_configs[0];
  const instance = `127.0.0.1:${engine.metricsPort}`;
  job.static_configs = [{ targets: [instance] }];
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, stringify(config));

  const port = await freePort();
  const prometheus = spawn('prometheus', [`--config.file=${configPath}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    prometheus.kill('SIGKILL');
  });
  const stderr: string[] = [];
  await new Promise<void>((resolve, reject) => {
    prometheus.once('exit', (code) => reject(new Error(`prometheus exited (${code}): ${stderr.join('\n')}`)));
    createInterface({ input: prometheus.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (line.includes('Server is ready to receive web requests')) resolve();
    });
  });

  const query = async (expr: string): Promise<QueryAnswer> => {
    const res = await request(`http://127.0.0.1:${port}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await res.body.json()) as QueryAnswer;
  };
  const scrapes = async (): Promise<number> => {
    const answer = await query(`count_over_time(up{job="${job.job_name}"}[10m])`);
    return Number((answer.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0);
  };

  // Traffic through the reference client, then enough scrapes to see it move.
  const sent = await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'prom', 500, { batchSize: 100 });
  t.is(sent.delivered, 500);
  const before = await scrapes();
  let seen = before;
  for (let i = 0; i < POLLS && seen < before + SCRAPES_AFTER_TRAFFIC; i++) {
    await sleep(POLL_MS);
    seen = await scrapes();
  }
  t.true(seen >= before + SCRAPES_AFTER_TRAFFIC, `Prometheus scraped the engine (${seen} scrapes)`);
  const up = await query(`up{job="${job.job_name}", instance="${instance}"}`);
  t.deepEqual((up.data?.result[0] as { value: [number, string] }).value[1], '1', 'the engine is up for Prometheus');

  // The template variables: the job and the instance come from Prometheus's labels.
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ name: string; query: unknown }> } };
  for (const name of ['job', 'instance']) t.truthy(dashboard.templating.list.find((v) => v.name === name), `the dashboard has a ${name} variable`);
  const jobs = (await (await request(`http://127.0.0.1:${port}/api/v1/label/job/values?${new URLSearchParams({ 'match[]': 'gophership_build_info' })}`)).body.json()) as { data: string[] };
  t.deepEqual(jobs.data, [job.job_name]);

  // Grafana's variables, as Grafana would substitute them for this one engine.
  const substitute = (expr: string): string =>
    expr
      .replaceAll('$__rate_interval', '1m')
      .replaceAll('$__interval', '5s')
      .replaceAll('$job', job.job_name)
      .replaceAll('$instance', instance.replaceAll('.', '\\\\.'));
  const noPsi = (await scrape(engine.metricsPort)).samples.get(PSI_METRIC) === undefined;
  if (noPsi) t.log(`this kernel reports no PSI: queries on ${PSI_METRIC} may be empty`);
  const empty: string[] = [];
  let queries = 0;
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      const expr = substitute(target.expr);
      t.false(/\$\w/.test(expr), `${panel.title}: a variable left in ${expr}`);
      const answer = await query(expr);
      queries++;
      t.is(answer.status, 'success', `${panel.title}: ${expr}: ${answer.error ?? ''}`);
      if ((answer.data?.result.length ?? 0) === 0 && !(noPsi && expr.includes(PSI_METRIC))) empty.push(`${panel.title}: ${expr}`);
    }
  }
  t.deepEqual(empty, [], 'queries that return no series (a panel with "No data")');
  t.true(queries >= 30, `the dashboard's queries were read (${queries})`);
});

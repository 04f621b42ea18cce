/**
 * `npm run bench:lines`: GopherShip's lines receiver (file exporter) against rsyslog and
 * syslog-ng in the same invocation, driven by the same load generator (bench/lines-load.ts):
 * LINES lines of LINE_BYTES bytes over CONNECTIONS connections. Rounds interleave the three
 * targets so that a noisy neighbour hits all of them.
 *
 * Per run: lines/s from the first byte sent to the last line written (the output files'
 * last modification once they stop growing), the receiver tree's CPU over that span, its
 * peak RSS (summed over its processes, sampled) and RssAnon, and lines landed vs sent.
 *
 * Knobs (environment): LINES (2000000), LINE_BYTES (200), CONNECTIONS (4), ROUNDS (3),
 * WORKERS (GopherShip ingest workers, 1), EXPORTERS (GopherShip exporter processes, 1), RING_MIB (GopherShip green ring, 16), TARGETS
 * (comma list, all three).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { followLines, ROOT, spawnNode } from './child-io';
import { LINE_TOKEN, type LoadResult } from './lines-load';
import { startLinesTarget, type LinesTarget, type LinesTargetName } from './lines-targets';
import { machineBusyS, TreeSampler } from './proc-tree';
import { describeMachine, median } from './report';
import { countInFiles } from './targets';

const MiB = 1024 * 1024;
const SAMPLE_INTERVAL_MS = 100;
/** Output that has not grown for this long is complete. */
const SETTLED_MS = 2000;
const POLL_MS = 50;
const ALL_TARGETS: LinesTargetName[] = ['gophership', 'rsyslog', 'syslog-ng'];

interface Settings {
  lines: number;
  lineBytes: number;
  connections: number;
  rounds: number;
  workers: number;
  exporters: number;
  ringMib: number;
  targets: LinesTargetName[];
}

interface Run {
  target: LinesTargetName;
  round: number;
  sent: number;
  landed: number;
  /** GopherShip: lines that went red (green ring full) and wait in the vault for replay. */
  vaulted: number;
  seconds: number;
  linesPerS: number;
  /** Lines/s the receiver took off the sockets (first to last byte sent): reading is held back by backpressure. */
  takenPerS: number;
  cpuPct: number;
  peakRssMib: number;
  peakAnonMib: number;
  /** CPU of everything else on the machine over the run (other agents, the generator): noise. */
  otherCores: number;
  notes: string[];
}

let current: LinesTarget | undefined;

function readSettings(): Settings {
  const n = (key: string, dflt: number): number => (process.env[key] === undefined ? dflt : Number(process.env[key]));
  const targets = (process.env.TARGETS?.split(',') ?? ALL_TARGETS) as LinesTargetName[];
  return { lines: n('LINES', 2_000_000), lineBytes: n('LINE_BYTES', 200), connections: n('CONNECTIONS', 4), rounds: n('ROUNDS', 3), workers: n('WORKERS', 1), exporters: n('EXPORTERS', 1), ringMib: n('RING_MIB', 16), targets };
}

async function main(): Promise<void> {
  const settings = readSettings();
  const machine = describeMachine();
  console.log(`machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.ram_gib} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}`);
  console.log(`settings: ${JSON.stringify(settings)}`);
  const syslogNgRoot = execFileSync(join(ROOT, 'bench/peers/install-peers.sh'), [join(ROOT, 'bench/out/peers/syslog-ng')], { encoding: 'utf8' }).trim();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      current?.cleanup();
      process.exit(130);
    });
  }
  const runs: Run[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const name of settings.targets) {
      const run = await measure(name, round, settings, syslogNgRoot);
      runs.push(run);
      console.log(
        `round ${round} ${name}: ${Math.round(run.linesPerS).toLocaleString('en-US')} lines/s to the file (taken at ${Math.round(run.takenPerS).toLocaleString('en-US')}/s), ${run.cpuPct.toFixed(0)} % CPU, peak RSS ${run.peakRssMib.toFixed(0)} MiB (anon ${run.peakAnonMib.toFixed(0)}), landed ${run.landed}/${run.sent}${run.vaulted > 0 ? ` (+${run.vaulted} in the vault)` : ''}, others ${run.otherCores.toFixed(2)} cores${run.notes.length > 0 ? `, notes: ${run.notes.slice(0, 3).join(' | ')}` : ''}`,
      );
    }
  }
  console.log(`\nmedians over ${settings.rounds} round(s): ${settings.lines} lines of ${settings.lineBytes} B over ${settings.connections} connections\n`);
  console.log('| target | lines/s to the file | vs best peer | lines/s taken off the sockets | CPU % | peak RSS MiB | peak RssAnon MiB | landed in the file / sent | in the vault |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const medians = settings.targets.map((target) => {
    const mine = runs.filter((r) => r.target === target);
    return {
      target,
      linesPerS: median(mine.map((r) => r.linesPerS)),
      takenPerS: median(mine.map((r) => r.takenPerS)),
      cpuPct: median(mine.map((r) => r.cpuPct)),
      peakRssMib: median(mine.map((r) => r.peakRssMib)),
      peakAnonMib: median(mine.map((r) => r.peakAnonMib)),
      landed: `${mine.reduce((s, r) => s + r.landed, 0)} / ${mine.reduce((s, r) => s + r.sent, 0)}`,
      vaulted: mine.reduce((s, r) => s + r.vaulted, 0),
    };
  });
  const bestPeer = Math.max(...medians.filter((m) => m.target !== 'gophership').map((m) => m.linesPerS), 0);
  for (const m of medians) {
    const ratio = bestPeer > 0 ? `${(m.linesPerS / bestPeer).toFixed(2)}x` : '–';
    console.log(`| ${m.target} | ${Math.round(m.linesPerS).toLocaleString('en-US')} | ${ratio} | ${Math.round(m.takenPerS).toLocaleString('en-US')} | ${m.cpuPct.toFixed(0)} | ${m.peakRssMib.toFixed(0)} | ${m.peakAnonMib.toFixed(0)} | ${m.landed} | ${m.vaulted} |`);
  }
  const dir = join(ROOT, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-lines-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ settings, machine, medians, runs }, null, 2)}\n`);
  console.log(`\nraw results: ${path}`);
}

async function measure(name: LinesTargetName, round: number, settings: Settings, syslogNgRoot: string): Promise<Run> {
  const target = await startLinesTarget(name, syslogNgRoot, { workers: settings.workers, exporters: settings.exporters, ringMib: settings.ringMib });
  current = target;
  try {
    const sampler = new TreeSampler(target.pid, SAMPLE_INTERVAL_MS);
    const before = sampler.sample();
    const busyBefore = machineBusyS();
    const generator = spawnNode(join(ROOT, 'dist/bench/lines-load.js'), [target.port, settings.lines, settings.lineBytes, settings.connections].map(String));
    let result: LoadResult | undefined;
    followLines(generator.stdout!, (line) => (result = JSON.parse(line) as LoadResult));
    followLines(generator.stderr!, (line) => target.notes.push(`generator: ${line}`));
    const [code] = (await once(generator, 'exit')) as [number | null];
    if (code !== 0 || result === undefined) throw new Error(`load generator failed (exit ${code}): ${target.notes.join(' | ')}`);
    const lastWriteMs = await settledOutput(target.outputDir);
    const after = sampler.finish().last;
    const busyS = machineBusyS() - busyBefore;
    const seconds = (lastWriteMs - result.firstByteEpochMs) / 1000;
    const cpuS = after.cpuS - before.cpuS;
    const landed = countInFiles(target.outputDir, LINE_TOKEN);
    await target.stop();
    const vaulted = target.vaultedLines?.() ?? 0;
    const spanS = (Date.now() - result.firstByteEpochMs) / 1000;
    return {
      target: name,
      round,
      sent: result.sent,
      landed,
      vaulted,
      seconds,
      linesPerS: landed / seconds,
      takenPerS: result.sent / ((result.lastByteEpochMs - result.firstByteEpochMs) / 1000),
      cpuPct: (100 * cpuS) / seconds,
      peakRssMib: sampler.maxRssBytes / MiB,
      peakAnonMib: sampler.maxAnonBytes / MiB,
      otherCores: Math.max(0, (busyS - cpuS) / spanS),
      notes: target.notes.filter((n) => !/"level":"(info|debug)"/.test(n) && !/^stderr: \[.*\] (Syslog connection|Accepting|syslog-ng (starting|shutting)|WARNING: With use-dns)/.test(n)),
    };
  } finally {
    target.cleanup();
    current = undefined;
  }
}

/** Waits until the files in `dir` stop growing; returns the last modification time (epoch ms). */
async function settledOutput(dir: string): Promise<number> {
  let size = -1;
  let since = Date.now();
  for (;;) {
    const files = existsSync(dir) ? readdirSync(dir).map((f) => statSync(join(dir, f))) : [];
    const now = files.reduce((s, f) => s + f.size, 0);
    if (now !== size) {
      size = now;
      since = Date.now();
    } else if (Date.now() - since >= SETTLED_MS) {
      return Math.max(0, ...files.map((f) => f.mtimeMs));
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

main().catch((err: unknown) => {
  current?.cleanup();
  console.error(err);
  process.exit(1);
});

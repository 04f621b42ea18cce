/**
 * The receivers `npm run bench:lines` compares, each a fresh process tree per run on a free
 * loopback port, writing the lines it receives into files of a private directory:
 * GopherShip's lines receiver with the file exporter, rsyslog (imtcp -> omfile) and
 * syslog-ng (network source with flags(no-parse) -> file), the peers with the configs in
 * bench/peers/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { exitWithin, followLines, freePort, ROOT } from './child-io';
import { LINE_TOKEN } from './lines-load';
import { launchEngine } from './targets';
import { scanSegment } from '../src/vault/segment-reader';
import { listSegments } from '../src/vault/vault-dir';

export type LinesTargetName = 'gophership' | 'rsyslog' | 'syslog-ng';

export interface LinesTarget {
  readonly name: LinesTargetName;
  /** Root of the process tree. */
  readonly pid: number;
  readonly port: number;
  /** Where it writes what it receives (every file in it is output). */
  readonly outputDir: string;
  readonly notes: string[];
  stop(): Promise<void>;
  /** GopherShip only, after stop(): lines its vault holds (spilled red while the green ring was full). */
  vaultedLines?(): number;
  cleanup(): void;
}

const MiB = 1024 * 1024;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 60_000;
const PEERS_DIR = join(ROOT, 'bench/peers');

export interface GopherShipShape {
  workers: number;
  exporters: number;
  ringMib: number;
}

export async function startLinesTarget(name: LinesTargetName, syslogNgRoot: string, shape: GopherShipShape): Promise<LinesTarget> {
  if (name === 'gophership') return startGopherShip(shape);
  const dir = mkdtempSync(join(ROOT, 'var', `bench-${name}-`));
  const port = await freePort();
  const outputDir = join(dir, 'out');
  // syslog-ng does not create the directories of its files.
  mkdirSync(outputDir);
  const fill = (template: string): string =>
    readFileSync(join(PEERS_DIR, template), 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@OUT@', join(outputDir, 'lines.log')).replaceAll('@WORK@', dir);
  let child: ChildProcess;
  if (name === 'rsyslog') {
    writeFileSync(join(dir, 'rsyslog.conf'), fill('rsyslog.conf'));
    child = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    writeFileSync(join(dir, 'syslog-ng.conf'), fill('syslog-ng.conf'));
    const r = syslogNgRoot;
    child = spawn(
      join(r, 'usr/sbin/syslog-ng'),
      ['-F', '-f', join(dir, 'syslog-ng.conf'), `--module-path=${join(r, 'usr/lib/syslog-ng/3.38')}`, `--persist-file=${join(dir, 'persist')}`, `--pidfile=${join(dir, 'pid')}`, `--control=${join(dir, 'ctl')}`],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LD_LIBRARY_PATH: ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib/syslog-ng'].map((p) => join(r, p)).join(':') } },
    );
  }
  const notes: string[] = [];
  followLines(child.stdout!, (line) => notes.push(`stdout: ${line}`));
  followLines(child.stderr!, (line) => notes.push(`stderr: ${line}`));
  const cleanup = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, notes);
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    name,
    pid: child.pid!,
    port,
    outputDir,
    notes,
    async stop() {
      child.kill('SIGTERM');
      if ((await exitWithin(child, STOP_TIMEOUT_MS)) === undefined) notes.push('did not exit after SIGTERM');
    },
    cleanup,
  };
}

async function startGopherShip(shape: GopherShipShape): Promise<LinesTarget> {
  const linesPort = await freePort();
  const httpPort = await freePort();
  const engine = await launchEngine('bench-lines', (dir, ringDir, grpcPort) => ({
    data_dir: dir,
    ingest: {
      workers: shape.workers,
      // Small limits let small rings pass the config check: lines records are 64 KiB reads.
      max_message_bytes: MiB,
      max_inflight_bytes: 4 * MiB,
      otlp_grpc: { listen: [`127.0.0.1:${grpcPort}`] },
      otlp_http: { listen: [`127.0.0.1:${httpPort}`], max_body_bytes: MiB },
      lines: { listen: [`127.0.0.1:${linesPort}`] },
    },
    rings: { dir: ringDir, green_bytes: shape.ringMib * MiB, red_bytes: 4 * MiB },
    export: { processes: shape.exporters },
    exporters: [{ type: 'file', path: join(dir, 'out', 'logs.jsonl'), max_bytes: Number.MAX_SAFE_INTEGER, max_files: 0 }],
    supervisor: { shutdown_timeout_ms: STOP_TIMEOUT_MS },
  }));
  return {
    name: 'gophership',
    pid: engine.child.pid!,
    port: linesPort,
    outputDir: join(engine.dir, 'out'),
    notes: engine.notes,
    async stop() {
      await engine.stop(STOP_TIMEOUT_MS);
    },
    vaultedLines() {
      const token = Buffer.from(LINE_TOKEN);
      let lines = 0;
      for (const segment of listSegments(join(engine.dir, 'vault'))) {
        scanSegment(segment.path, ({ payload }) => {
          const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
          for (let i = bytes.indexOf(token); i !== -1; i = bytes.indexOf(token, i + token.length)) lines++;
        });
      }
      return lines;
    },
    cleanup: engine.cleanup,
  };
}

/** Resolves once the port accepts a connection (closed again at once). */
async function waitForPort(port: number, child: ChildProcess, notes: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited (code ${child.exitCode}) before listening: ${notes.join(' | ')}`);
    const socket = connect(port, '127.0.0.1');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not listening on ${port} within ${READY_TIMEOUT_MS} ms: ${notes.join(' | ')}`);
}

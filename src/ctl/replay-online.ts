/**
 * `gs-ctl replay --online` and `--stop`: the running engine's replay, through the control
 * plane. Following polls GetReplay; the vault reports progress to the supervisor once a second,
 * so polling faster would only repeat it.
 */
import type { BaseContext } from 'clipanion';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplayStatusMessage } from '../common/control-proto';
import { EXIT, type ControlConnection } from './control-client';
import { ProgressPrinter } from './replay-progress';

const POLL_MS = 500;

interface Output {
  context: BaseContext;
  json: boolean;
}

export async function followOnlineReplay(engine: ControlConnection, timeoutMs: number, detach: boolean, out: Output): Promise<number> {
  let replay = await engine.call<ReplayStatusMessage>('StartReplay', {}, timeoutMs);
  if (detach) {
    write(out, replay, `replay ${replay.state} in the engine; follow it with \`gs-ctl status\`, stop it with \`gs-ctl replay --online --stop\`\n`);
    return EXIT.OK;
  }
  const progress = new ProgressPrinter(out.context.stdout, out.json);
  while (replay.state === 'running') {
    progress.update({ records: replay.records, bytes: replay.bytes, skipped: 0, cursor: replay.cursor, elapsedMs: replay.elapsed_ms, recordsPerSecond: replay.records_per_second, etaSeconds: null });
    await sleep(POLL_MS);
    replay = await engine.call<ReplayStatusMessage>('GetReplay', {}, timeoutMs);
  }
  progress.abandon();
  return finish(out, replay);
}

export async function stopOnlineReplay(engine: ControlConnection, timeoutMs: number, out: Output): Promise<number> {
  const replay = await engine.call<ReplayStatusMessage>('StopReplay', {}, timeoutMs);
  write(out, replay, replay.state === 'running' ? 'replay stopping once the batches handed to the exporter are exported; the cursor keeps what was exported\n' : `no replay running (last: ${replay.state})\n`);
  return EXIT.OK;
}

function finish(out: Output, r: ReplayStatusMessage): number {
  const summary = { done: r.state === 'done', state: r.state, records: r.records, bytes: r.bytes, cursor: r.cursor, elapsed_s: r.elapsed_ms / 1000, rate: Math.round(r.records_per_second), ...(r.error ? { error: r.error } : {}) };
  write(out, summary, `replay ${r.state}: ${r.records} records (${r.bytes} bytes) in ${summary.elapsed_s}s, cursor at seq ${r.cursor}${r.error ? `: ${r.error}` : ''}\n`);
  if (r.state === 'done') return EXIT.OK;
  out.context.stderr.write(`gs-ctl replay: the engine's replay ${r.state}${r.error ? `: ${r.error}` : ''}; run it again to resume at the cursor\n`);
  return EXIT.FAILED;
}

function write(out: Output, json: unknown, text: string): void {
  const tty = (out.context.stdout as { isTTY?: boolean }).isTTY === true;
  out.context.stdout.write(out.json || !tty ? `${JSON.stringify(json)}\n` : text);
}

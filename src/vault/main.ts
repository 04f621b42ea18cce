/**
 * The vault process: drains every red ring into segment files written with O_DIRECT, and
 * replays the vault into the export path when asked. A red ring's head moves only after the
 * batch is written (and synced, under vault.sync: always), so a vault killed at any moment is
 * succeeded by one that recovers the segments, truncates a torn tail, and appends again from
 * the first record not yet committed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ReplayState } from '../common/child-protocol';
import { runChild, sendToSupervisor } from '../common/child-runtime';
import { CommitWaiter } from '../common/commit-waiter';
import { DoorbellSender, commitBellPath, doorbellPath } from '../common/doorbell';
import { GopherShipError, VaultFullError } from '../common/errors';
import { VAULT_WRITE_BUFFERS } from '../common/memory-plan';
import type { RingRecord } from '../common/ring';
import { attachRing } from '../common/ring';
import { releaseIdleRings } from '../common/ring-release';
import { RingDrain } from '../common/ring-drain';
import { listRings, replayRingPath, ringPaths } from '../common/ring-layout';
import { ZoneCell, zoneCellPath } from '../common/zone-cell';
import { replayOnline } from './online-replay';
import { readCursor } from './replay-cursor';
import { framedBytes } from './segment-format';
import { MAX_UNDELIVERED, type ReplayProgress } from './replayer';
import { SegmentWriter } from './segment-writer';
import { listSegments, recoverVault } from './vault-dir';
import { VaultMetrics } from './vault-metrics';

// Raw bytes are only copied here, so batches can be large: as many records as one O_DIRECT
// write carries (vault.write_buffer_bytes, from the memory plan: 8 MiB from a 512 MiB limit
// up; against 1 MiB, bench:red refused 14-18 % instead of 18-38 %, docs/benchmarks.md).
const BATCH_RECORDS = 4096;
/** How often an idle vault looks whether an automatic replay is due. */
const AUTO_REPLAY_CHECK_MS = 1000;
// How often the supervisor hears the vault's size, for `gs-ctl status`.
const STATS_EVERY_MS = 1000;
// Sampling step of the event-loop delay histogram logged at exit (bench:red reads it).
const LOOP_DELAY_RESOLUTION_MS = 10;

function bytesOf(dir: string): number {
  return listSegments(dir).reduce((sum, s) => sum + s.bytes, 0);
}

runChild(async ({ config }, log) => {
  const v = config.vault;
  const recovered = recoverVault(v.dir);
  const openWriter = (lastSeq: number): SegmentWriter =>
    new SegmentWriter({ dir: v.dir, firstSeq: lastSeq + 1, segmentBytes: v.segment_bytes, maxBytes: v.max_bytes, usedBytes: bytesOf(v.dir), sync: v.sync, syncIntervalMs: v.sync_interval_ms, bufferBytes: v.write_buffer_bytes, buffers: VAULT_WRITE_BUFFERS });
  // A replay that emptied the vault leaves its cursor behind: new records must number above
  // it, or the next replay would take them for done and delete them.
  let writer = openWriter(Math.max(recovered.lastSeq, readCursor(v.dir)));
  log.info('vault recovered', { dir: v.dir, ...recovered, nextSeq: writer.lastSeq + 1, directIo: writer.directIo, sync: v.sync });
  const metrics = new VaultMetrics(recovered, { diskBytes: () => writer.diskBytes, segments: () => listSegments(v.dir).length });

  // The event loop's delay from the first batch on: the disk must never stall it.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  let firstBatch = true;

  // Set while a replay swaps the writer: batches wait for the fresh one.
  let switching: Promise<void> | undefined;

  // The batch is staged at once and its promise settles when its records are written (and
  // synced under `always`); meanwhile the drain hands the other rings' batches, which are
  // staged behind it while its writes are in flight and share its fdatasync.
  const handle = async (ring: string, batch: readonly RingRecord[]): Promise<void> => {
    if (firstBatch) {
      firstBatch = false;
      loopDelay.enable();
    }
    if (switching !== undefined) await switching;
    try {
      await writer.appendBatch(batch);
    } catch (err) {
      // Nothing of the batch was appended: it stays in its ring until replay frees space.
      if (err instanceof VaultFullError) throw err;
      // Part of the batch may be staged or written: retrying in this process would store it
      // twice or on top of a failed writer. A fresh process recovers the segment and appends
      // again everything the red rings still hold (at least once).
      log.error('vault write failed; exiting for a clean restart', { err, ring });
      process.exit(1);
    }
    let bytes = 0;
    for (const record of batch) bytes += framedBytes(record.payload.byteLength);
    metrics.written(batch.length, bytes);
  };

  const paths = ringPaths(config.rings.dir, 'red', listRings(config.rings.dir, 'red'));
  const drain = new RingDrain(paths, handle, log, { records: BATCH_RECORDS, bytes: v.write_buffer_bytes });
  drain.start();
  // Under `interval`, a quiet vault still makes its last writes durable within the bound.
  // Not while a replay swaps the writer: the old one is closed, the new one not open yet.
  const syncTimer = setInterval(() => switching === undefined && writer.syncIfDue(), v.sync_interval_ms).unref();

  const zone = new ZoneCell(zoneCellPath(config.rings.dir));
  const replayPath = replayRingPath(config.rings.dir);
  const replayRing = attachRing(replayPath);
  const replayBell = new DoorbellSender(doorbellPath(replayPath));
  const replayWriter = replayRing.writer(() => replayBell.ring());
  const replayCommitted = new CommitWaiter(replayRing, commitBellPath(replayPath));
  const stopReleasing = releaseIdleRings(new Map([[replayPath, replayWriter]]), log);
  let replaying: Promise<void> | undefined;
  let stopReplay = new AbortController();
  // Every record above the cursor is waiting for a replay (seqs are consecutive).
  let cursor = readCursor(v.dir);
  const sendStats = (): void => sendToSupervisor({ type: 'vault-stats', bytes: writer.diskBytes, records: Math.max(0, writer.lastSeq - cursor) });
  const statsTimer = setInterval(sendStats, STATS_EVERY_MS).unref();
  sendStats();
  const sendReplay = (state: ReplayState['state'], p: ReplayProgress, error?: string): void => {
    cursor = Math.max(cursor, p.cursor);
    sendToSupervisor({ type: 'replay-progress', replay: { state, records: p.records, bytes: p.bytes, cursor: p.cursor, recordsPerSecond: p.recordsPerSecond, elapsedMs: p.elapsedMs, error } });
  };

  const replay = async (): Promise<void> => {
    // Close the segment being written, so that every record so far is in a closed segment
    // the replay may read and delete; new records go to a fresh segment it leaves alone.
    switching = writer.closeAsync().then(() => {
      writer = openWriter(writer.lastSeq);
      switching = undefined;
    });
    await switching;
    const beforeSeq = writer.lastSeq + 1;
    metrics.replayStarted(listSegments(v.dir).filter((s) => s.firstSeq < beforeSeq).length);
    const summary = await replayOnline({
      dir: v.dir,
      ring: replayRing,
      writer: replayWriter,
      committed: replayCommitted,
      recordsPerSecond: v.replay_records_per_second,
      // The batches handed over but not delivered are copies: together they take at most one write buffer (memory-plan.ts).
      batchBytes: Math.max(1, Math.floor(v.write_buffer_bytes / MAX_UNDELIVERED)),
      beforeSeq,
      signal: stopReplay.signal,
      zone: () => zone.zone(),
      // Credited as each segment goes, so a full vault takes Red traffic again during a long replay.
      onSegmentDeleted: (bytes) => {
        writer.releaseBytes(bytes);
        metrics.replaySegmentDone();
      },
      onBatch: (p) => metrics.replayProgress(p.records, p.bytes),
      onProgress: (p) => sendReplay('running', p),
      log,
    });
    sendReplay(summary.completed ? 'done' : 'stopped', summary);
    sendStats();
    log.info(summary.completed ? 'replay done' : 'replay stopped', { records: summary.records, bytes: summary.bytes, segmentsDeleted: summary.segmentsDeleted, cursor: summary.cursor, seconds: summary.elapsedMs / 1000 });
  };

  const startReplay = (reason: string): void => {
    if (replaying !== undefined) {
      log.info('replay already running');
      return;
    }
    log.info('replay starting', { dir: v.dir, reason });
    stopReplay = new AbortController();
    const startedMs = performance.now();
    const nothingYet = (): ReplayProgress => ({ records: 0, bytes: 0, skipped: 0, cursor, elapsedMs: performance.now() - startedMs, recordsPerSecond: 0, etaSeconds: null });
    sendReplay('running', nothingYet());
    replaying = replay()
      .catch((err: unknown) => {
        // Stopped by the abort in the middle of a batch: it stays unreplayed for next time, nothing failed.
        if (stopReplay.signal.aborted) {
          log.info('replay stopped; the cursor keeps what was exported');
          sendReplay('stopped', nothingYet());
          return;
        }
        log.error('replay failed; the cursor keeps what was exported', { err });
        sendReplay('failed', nothingYet(), `${err instanceof GopherShipError ? `${err.code}: ` : ''}${(err as Error).message}`);
      })
      .finally(() => {
        metrics.replayEnded();
        replaying = undefined;
      });
  };
  // Automatic replay: whenever the engine is Green and the vault holds records not yet
  // replayed. The replay itself pauses whenever the zone leaves Green.
  const autoReplay = !v.auto_replay
    ? undefined
    : setInterval(() => {
        if (replaying === undefined && zone.zone() === 'green' && writer.lastSeq > cursor) startReplay('auto');
      }, AUTO_REPLAY_CHECK_MS);

  return {
    onMessage(msg) {
      if (msg.type === 'replay-stop') {
        if (replaying !== undefined) log.info('replay stop requested');
        stopReplay.abort();
      } else if (msg.type === 'replay') startReplay('requested');
    },
    async close() {
      clearInterval(autoReplay);
      stopReplay.abort();
      await drain.untilIdle();
      drain.close();
      loopDelay.disable();
      if (!firstBatch) log.info('vault event-loop delay', { p50Ms: loopDelay.percentile(50) / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6, samples: loopDelay.count });
      clearInterval(syncTimer);
      clearInterval(statsTimer);
      await writer.closeAsync();
      replayCommitted.close();
      stopReleasing();
      replayBell.close();
    },
  };
});

/**
 * Replay while the engine runs: the vault reads its closed segments and offers the records
 * to the replay ring, which exporter 0 drains through the same export path as live traffic.
 * A batch counts as replayed (and the cursor moves past it) only once exporter 0 has
 * committed the replay ring past its last record, i.e. exported it; the next batches are
 * read and handed over meanwhile, so that the exporter never waits for the disk. A full
 * replay ring (the exporter is slower) makes the replay wait: the rate is whatever export
 * sustains, at most vault.replay_records_per_second, a tenth of it in Yellow, and nothing in
 * Red (the replay's pace, which its token bucket applies).
 */
import type { CommitWaiter } from '../common/commit-waiter';
import { ReplayRecordTooLargeError } from '../common/errors';
import type { Logger } from '../common/log';
import type { Zone } from '../common/zone-cell';
import type { Ring, RingWriter } from '../common/ring';
import { replayVault, type ReplayProgress, type ReplaySummary } from './replayer';

/** Progress lines in the log during a long replay. */
const PROGRESS_EVERY_MS = 1000;
/** In Yellow, replay runs at this share of its rate: it yields to live traffic but never stalls. */
const YELLOW_SHARE = 0.1;

export interface OnlineReplayOptions {
  dir: string;
  ring: Ring;
  writer: RingWriter;
  committed: CommitWaiter;
  recordsPerSecond: number;
  /** A replay batch's bytes, at most. */
  batchBytes: number;
  /** First seq of the segment the vault is writing: it is not replayed. */
  beforeSeq: number;
  signal: AbortSignal;
  /** Red pauses the replay and Yellow slows it, so that it never adds to the pressure. */
  zone: () => Zone;
  onSegmentDeleted: (bytes: number) => void;
  /** After every batch, with this replay's totals so far. */
  onBatch: (progress: ReplayProgress) => void;
  log: Logger;
  /** At most once a second, beside the log line: the supervisor shows it to gs-ctl. */
  onProgress: (progress: ReplayProgress) => void;
}

export async function replayOnline(o: OnlineReplayOptions): Promise<ReplaySummary> {
  let lastLog = 0;
  let paused = false;
  const pace = (): number => {
    const zone = o.zone();
    if ((zone === 'red') !== paused) {
      paused = !paused;
      o.log.info(paused ? 'replay paused: the zone is Red' : 'replay resumed', { zone });
    }
    return zone === 'red' ? 0 : zone === 'yellow' ? YELLOW_SHARE : 1;
  };
  return replayVault({
    dir: o.dir,
    recordsPerSecond: o.recordsPerSecond,
    batchBytes: o.batchBytes,
    pace,
    beforeSeq: o.beforeSeq,
    signal: o.signal,
    onSegmentDeleted: o.onSegmentDeleted,
    handle: async ({ records }) => {
      for (const r of records) {
        // A ring kept from a run with smaller rings can be too small for an old record;
        // waiting for room would then wait forever.
        if (r.payload.byteLength > o.ring.maxPayload()) {
          throw new ReplayRecordTooLargeError(`record seq ${r.seq} (${r.payload.byteLength} bytes) does not fit in the replay ring (at most ${o.ring.maxPayload()}); stop the engine and replay offline, or remove replay.ring from rings.dir while the engine is stopped so that it is made anew at the configured size`);
        }
        while (!o.writer.offer(r.kind, r.flags, [r.payload], r.payload.byteLength, r.receivedMs)) {
          // Full: wait until exporter 0 commits anything, then try again.
          await o.committed.wait((o.ring.head() + 1) >>> 0);
        }
      }
      return { delivered: o.committed.wait(o.writer.published) };
    },
    onProgress: (p) => {
      o.onBatch(p);
      if (p.elapsedMs - lastLog < PROGRESS_EVERY_MS) return;
      lastLog = p.elapsedMs;
      o.log.info('replay progress', { records: p.records, bytes: p.bytes, recordsPerSecond: Math.round(p.recordsPerSecond), cursor: p.cursor });
      o.onProgress(p);
    },
  });
}

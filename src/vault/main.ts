/**
 * The vault process: drains every red ring into segment files written with O_DIRECT. A ring's
 * head moves only after the batch is written (and synced, under vault.sync: always), so a
 * vault killed at any moment is succeeded by one that recovers the segments, truncates a torn
 * tail, and appends again from the first record not yet committed.
 */
import { runChild } from '../common/child-runtime';
import { DoorbellSender, commitBellPath } from '../common/doorbell';
import { VaultFullError, VaultIoError } from '../common/errors';
import { listRings, ringPaths } from '../common/ring-layout';
import type { RingRecord } from '../common/ring';
import { RingDrain } from '../common/ring-drain';
import { SEGMENT_HEADER_BYTES, framedBytes } from './segment-format';
import { SegmentWriter } from './segment-writer';
import { readCursor } from './replay-cursor';
import { recoverVault } from './vault-dir';

// Raw bytes are only copied here, so batches can be large: more records per O_DIRECT write.
const BATCH_LIMITS = { records: 4096, bytes: 8 * 1024 * 1024 };

runChild(async ({ config }, log) => {
  const v = config.vault;
  const recovered = recoverVault(v.dir);
  // A replay that emptied the vault leaves its cursor behind: new records must number above
  // it, or the next replay would take them for done and delete them.
  const nextSeq = Math.max(recovered.lastSeq, readCursor(v.dir)) + 1;
  log.info('vault recovered', { dir: v.dir, ...recovered, nextSeq });
  const writer = new SegmentWriter({
    dir: v.dir,
    firstSeq: nextSeq,
    segmentBytes: v.segment_bytes,
    maxBytes: v.max_bytes,
    usedBytes: recovered.bytes,
    sync: v.sync,
    syncIntervalMs: v.sync_interval_ms,
  });
  log.info('vault writing', { dir: v.dir, directIo: writer.directIo, sync: v.sync });

  const handle = (ring: number, batch: readonly RingRecord[]): void => {
    let needed = SEGMENT_HEADER_BYTES;
    for (const record of batch) needed += framedBytes(record.payload.byteLength);
    // All or nothing: a batch half-appended and then retried would be stored twice.
    if (writer.diskBytes + needed > v.max_bytes) {
      throw new VaultFullError(`vault holds ${writer.diskBytes} of vault.max_bytes ${v.max_bytes}; red ring ${ring} keeps the records until replay frees space`);
    }
    try {
      for (const record of batch) writer.append(record);
      writer.flush();
    } catch (err) {
      if (!(err instanceof VaultIoError)) throw err;
      // The writer cannot continue after a failed write; a fresh process recovers the
      // segment and appends again everything the rings still hold.
      log.error('vault write failed; exiting for a clean restart', { err });
      process.exit(1);
    }
  };

  const paths = ringPaths(config.rings.dir, 'red', listRings(config.rings.dir, 'red'));
  // Under `always`, ingest holds each client's answer until the commit that follows the
  // fdatasync of its record, and waits for this bell to look.
  const commitBells = new Map([...paths].map(([i, path]) => [i, new DoorbellSender(commitBellPath(path))]));
  const onCommit = v.sync === 'always' ? (ring: number) => commitBells.get(ring)?.ring() : undefined;
  const drain = new RingDrain(paths, handle, log, BATCH_LIMITS, onCommit);
  drain.start();
  // Under `interval`, a quiet vault still makes its last writes durable within the bound.
  const syncTimer = setInterval(() => writer.syncIfDue(), v.sync_interval_ms).unref();
  return {
    async close() {
      await drain.untilEmpty();
      drain.close();
      clearInterval(syncTimer);
      writer.close();
      for (const bell of commitBells.values()) bell.close();
    },
  };
});

/**
 * The vault process's series: what the vault holds, what its recovery found at start, what
 * it wrote, and how far a replay has come. Plain numbers updated per batch, mirrored into
 * the registry at scrape time.
 */
import { mirroredCounter, mirroredGauge } from '../common/mirrored-metrics';
import type { RecoveredVault } from './vault-dir';

export interface VaultState {
  /** Disk bytes of every segment. */
  diskBytes(): number;
  segments(): number;
}

export class VaultMetrics {
  private writtenRecords = 0;
  private writtenBytes = 0;
  private replayedRecords = 0;
  private replayedBytes = 0;
  /** Totals of the replays that finished, so that the counters add up across replays. */
  private replayBase = { records: 0, bytes: 0 };
  private replaySegmentsLeft = 0;
  private replaying = false;

  constructor(recovered: RecoveredVault, state: VaultState) {
    mirroredGauge({ name: 'gophership_vault_size_bytes', help: 'Disk bytes of all vault segments.', read: (r) => r({}, state.diskBytes()) });
    mirroredGauge({ name: 'gophership_vault_segments', help: 'Segment files in the vault.', read: (r) => r({}, state.segments()) });
    mirroredGauge({
      name: 'gophership_vault_requests',
      help: 'Requests in the vault not yet replayed (a lines record counts as one): found at start, plus written, minus replayed.',
      read: (r) => r({}, Math.max(0, recovered.records + this.writtenRecords - this.replayedRecords)),
    });
    mirroredCounter({ name: 'gophership_vault_written_requests_total', help: 'Requests the vault wrote from the red rings (a lines record counts as one).', read: (r) => r({}, this.writtenRecords) });
    mirroredCounter({ name: 'gophership_vault_written_bytes_total', help: 'Framed bytes the vault wrote from the red rings.', read: (r) => r({}, this.writtenBytes) });
    mirroredCounter({
      name: 'gophership_vault_recovery_truncated_bytes_total',
      help: 'Bytes of torn segment tails cut off by recovery when the vault process started.',
      read: (r) => r({}, recovered.truncatedBytes),
    });
    mirroredCounter({
      name: 'gophership_vault_recovery_corrupt_requests_total',
      help: 'Corrupt records recovery skipped in the middle of segments when the vault process started.',
      read: (r) => r({}, recovered.corruptSkipped),
    });
    mirroredCounter({ name: 'gophership_replay_requests_total', help: 'Requests replayed from the vault into the export path (a lines record counts as one).', read: (r) => r({}, this.replayedRecords) });
    mirroredCounter({ name: 'gophership_replay_bytes_total', help: 'Payload bytes replayed from the vault (as stored).', read: (r) => r({}, this.replayedBytes) });
    mirroredGauge({ name: 'gophership_replay_active', help: '1 while an online replay runs.', read: (r) => r({}, this.replaying ? 1 : 0) });
    mirroredGauge({
      name: 'gophership_replay_segments_remaining',
      help: 'Segments the running replay has yet to finish (0 when none runs).',
      read: (r) => r({}, this.replaying ? this.replaySegmentsLeft : 0),
    });
  }

  written(records: number, bytes: number): void {
    this.writtenRecords += records;
    this.writtenBytes += bytes;
  }

  replayStarted(segments: number): void {
    this.replaying = true;
    this.replaySegmentsLeft = segments;
    this.replayBase = { records: this.replayedRecords, bytes: this.replayedBytes };
  }

  /** Totals of the running replay so far. */
  replayProgress(records: number, bytes: number): void {
    this.replayedRecords = this.replayBase.records + records;
    this.replayedBytes = this.replayBase.bytes + bytes;
  }

  replaySegmentDone(): void {
    this.replaySegmentsLeft = Math.max(0, this.replaySegmentsLeft - 1);
  }

  replayEnded(): void {
    this.replaying = false;
  }
}

/**
 * Chooses the ring for each request: the green ring (to the exporters) on the normal path,
 * the red ring (to the vault) when the zone is Red, and the red ring at once for a request
 * that does not fit in a full green ring, whatever the zone: a slow exporter then costs disk,
 * not refusals. Only a request that fits in neither is refused (retryably) by the caller.
 *
 * The zone is read from the shared cell on every request, so a pivot takes effect with the
 * next request after the monitor's decision.
 */
import type { RecordKind, RecordSink } from '../common/record-kind';
import type { RingWriter } from '../common/ring';
import type { CommitWaiter } from '../common/commit-waiter';
import type { ZoneCell } from '../common/zone-cell';

export class ZoneRouter implements RecordSink {
  private lastWentRed = false;
  private pivotSeen: number;

  /**
   * `redCommits` is given under vault.sync: always, where red means "on disk" before OK.
   * `onPivot` hears, once per decision to go Red, how long after it the first request went red.
   */
  constructor(
    private readonly green: RingWriter,
    private readonly red: RingWriter,
    private readonly zone: ZoneCell,
    private readonly onPivot: (latencyNs: bigint) => void,
    private readonly redCommits?: CommitWaiter,
  ) {
    // A Red zone found at start was decided before this worker existed: not a pivot of ours.
    this.pivotSeen = zone.sequence();
  }

  offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number): boolean {
    this.lastWentRed = true;
    if (this.zone.isRed()) {
      if (!this.red.offer(kind, flags, chunks, length)) return false;
      const seq = this.zone.sequence();
      if (seq !== this.pivotSeen) {
        this.pivotSeen = seq;
        this.onPivot(process.hrtime.bigint() - this.zone.decidedAtNs());
      }
      return true;
    }
    if (this.green.offer(kind, flags, chunks, length)) {
      this.lastWentRed = false;
      return true;
    }
    return this.red.offer(kind, flags, chunks, length);
  }

  whenDurable(): Promise<void> | undefined {
    if (!this.lastWentRed || this.redCommits === undefined) return undefined;
    return this.redCommits.wait(this.red.published);
  }
}

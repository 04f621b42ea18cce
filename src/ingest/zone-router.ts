/**
 * Chooses the ring for each request: the green ring (to the exporters) on the normal path,
 * the red ring (to the vault) when the zone is Red, and the red ring at once for a request
 * that does not fit in a full green ring, whatever the zone: a slow exporter then costs disk,
 * not refusals. Only a request that fits in neither is refused (retryably) by the caller.
 */
import type { RecordKind, RecordSink } from '../common/record-kind';
import type { RingWriter } from '../common/ring';
import type { CommitWaiter } from '../common/commit-waiter';

export class ZoneRouter implements RecordSink {
  private lastWentRed = false;

  /** `redCommits` is given under vault.sync: always, where red means "on disk" before OK. */
  constructor(
    private readonly green: RingWriter,
    private readonly red: RingWriter,
    private readonly isRed: () => boolean,
    private readonly redCommits?: CommitWaiter,
  ) {}

  offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number): boolean {
    this.lastWentRed = true;
    if (this.isRed()) return this.red.offer(kind, flags, chunks, length);
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

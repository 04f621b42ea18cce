/**
 * Chooses the ring for each request: the green ring (to the exporters) on the normal path,
 * the red ring (to the vault) when the zone is Red, and the red ring at once for a request
 * that does not fit in a full green ring, whatever the zone: a slow exporter then costs disk,
 * not refusals. Only a request that fits in neither is refused (retryably) by the caller.
 */
import type { RecordKind, RecordSink } from '../common/record-kind';

export class ZoneRouter implements RecordSink {
  /** Requests that went red because the green ring was full (the per-request reflex). */
  spilled = 0;

  constructor(
    private readonly green: RecordSink,
    private readonly red: RecordSink,
    private readonly isRed: () => boolean,
  ) {}

  offer(kind: RecordKind, flags: number, chunks: readonly Uint8Array[], length: number): boolean {
    if (this.isRed()) return this.red.offer(kind, flags, chunks, length);
    if (this.green.offer(kind, flags, chunks, length)) return true;
    if (!this.red.offer(kind, flags, chunks, length)) return false;
    this.spilled++;
    return true;
  }
}

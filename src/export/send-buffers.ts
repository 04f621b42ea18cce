/**
 * Reusable send buffers for one exporter. A downstream request is assembled (merged
 * requests, enrichment splices) by copying into one of these, so that each request does not
 * cost a fresh multi-megabyte allocation: in a VM, first-touch page faults on new memory
 * cost more than the copy itself (measured: bench/green-forward.ts).
 *
 * One buffer is in use per delivery in flight, i.e. at most one per ring; at most
 * MAX_IDLE are kept between deliveries, so the pool holds at most MAX_IDLE × size bytes idle.
 */
const MAX_IDLE = 4;

export class SendBuffers {
  private readonly idle: Buffer[] = [];

  constructor(private readonly size: number) {}

  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (this.idle.length < MAX_IDLE) this.idle.push(buffer);
  }
}

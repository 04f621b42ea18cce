/**
 * Reusable send buffers for one exporter. A downstream request is assembled (merged
 * requests, enrichment splices) by copying into one of these, so that each request does not
 * cost a fresh multi-megabyte allocation: in this VM, first-touch page faults on new memory
 * cost 30 times the copy itself (bench/green-forward.ts, docs/benchmarks.md).
 *
 * One buffer is in use per delivery in flight (max_in_flight per ring batch); at most
 * MAX_IDLE are kept between deliveries, so the pool holds at most MAX_IDLE × size bytes idle.
 * A request larger than `size` (one client request above batch.max_bytes) gets a buffer of
 * its own, not kept.
 */
const MAX_IDLE = 8;

export class SendBuffers {
  private readonly idle: Buffer[] = [];

  constructor(private readonly size: number) {}

  take(bytes: number): Buffer {
    if (bytes > this.size) return Buffer.allocUnsafeSlow(bytes);
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.idle.length < MAX_IDLE) this.idle.push(buffer);
  }
}

/**
 * Bounds the request bytes one ingest worker holds before they reach the ring. HTTP/2 flow
 * control alone does not: the worker keeps reading (and so re-opening the window) while a
 * request is incomplete, so a client with many slow streams could make it hold
 * max_concurrent_streams × max_message_bytes per connection. Past the budget a request is
 * refused with a retryable status instead.
 */
export class InflightBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }

  get inUse(): number {
    return this.used;
  }
}

/**
 * Bounds the request bytes one ingest worker holds before they reach the ring. HTTP/2 flow
 * control alone does not: the worker keeps reading (and so re-opening the window) while a
 * request is incomplete, so a client with many slow streams could make it hold
 * max_concurrent_streams × max_message_bytes per connection. Past the budget a request is
 * refused with a retryable status instead.
 *
 * Each connection draws on the budget through a share of its own (connection()), capped at
 * half the budget but never below one maximum message: one connection, however many streams
 * it stalls, leaves the other half to everybody else, and a single client still gets its
 * largest message through (two at once with the defaults, 64 MiB and 16 MiB).
 */
export class InflightBudget {
  private used = 0;
  /** What one connection may hold at once. */
  readonly connectionLimit: number;

  constructor(
    readonly limit: number,
    maxMessageBytes = limit,
  ) {
    this.connectionLimit = Math.min(limit, Math.max(maxMessageBytes, Math.floor(limit / 2)));
  }

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

  /** A new connection's share. */
  connection(): InflightShare {
    return new InflightShare(this);
  }
}

/** One connection's bytes in flight: within its own cap and within the worker's budget. */
export class InflightShare {
  private used = 0;

  constructor(private readonly budget: InflightBudget) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.budget.connectionLimit || !this.budget.take(bytes)) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
    this.budget.give(bytes);
  }
}

/**
 * When to restart a child that died: exponential backoff that resets once a child has
 * stayed up, and crash-loop detection so that a child dying on start is reported loudly
 * and retried at the slowest pace instead of being spun.
 */
export interface RestartPolicyOptions {
  minMs: number;
  maxMs: number;
  /** This many exits within windowMs is a crash loop. */
  loopRestarts: number;
  windowMs: number;
}

export class RestartPolicy {
  private consecutive = 0;
  private readonly exits: number[] = [];

  constructor(private readonly o: RestartPolicyOptions) {}

  /** Records an exit of a child that had been up for upMs; returns the delay before restart. */
  onExit(now: number, upMs: number): { delayMs: number; crashLoop: boolean } {
    // A child that outlived the longest backoff was healthy; its death starts a new series.
    if (upMs >= this.o.maxMs) this.consecutive = 0;
    this.exits.push(now);
    while (this.exits.length > 0 && now - this.exits[0] > this.o.windowMs) this.exits.shift();
    const crashLoop = this.exits.length >= this.o.loopRestarts;
    const delayMs = crashLoop ? this.o.maxMs : Math.min(this.o.maxMs, this.o.minMs * 2 ** this.consecutive);
    this.consecutive++;
    return { delayMs, crashLoop };
  }
}

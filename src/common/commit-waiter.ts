/**
 * Lets a ring's writer wait until the reader has committed past a record: the record is then
 * handled. Ingest uses it under vault.sync: always (the vault commits a red ring only after
 * fdatasync, so the head passing a record is its durability); the vault uses it while it
 * replays (exporter 0 commits the replay ring only after exporting). While anyone waits it
 * sets the ring's commit-wanted word, and the reader's next commit rings the commit bell
 * (see RingReader.commit), so readers need no notion of who waits. Records end at
 * increasing ring positions, so waiters are settled in order from the front.
 */
import { DoorbellListener } from './doorbell';
import { reached, type Ring } from './ring';

/** Insurance against a lost bell (a vault killed between commit and ring). */
const RECHECK_MS = 50;

export class CommitWaiter {
  private readonly waiting: Array<{ end: number; resolve: () => void }> = [];
  private first = 0;
  private readonly listener: DoorbellListener;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ring: Ring,
    bellPath: string,
  ) {
    this.listener = new DoorbellListener(bellPath, () => this.settle());
  }

  /** Resolves once the reader has committed past `end` (a tail counter). */
  wait(end: number): Promise<void> {
    if (reached(this.ring.head(), end)) return Promise.resolve();
    const waited = new Promise<void>((resolve) => {
      this.waiting.push({ end, resolve });
      this.timer ??= setInterval(() => this.settle(), RECHECK_MS);
    });
    this.settle();
    return waited;
  }

  close(): void {
    this.listener.close();
    clearInterval(this.timer);
  }

  private settle(): void {
    const head = this.ring.head();
    const { waiting } = this;
    while (this.first < waiting.length && reached(head, waiting[this.first].end)) waiting[this.first++].resolve();
    // Compact once the settled prefix dominates, so the array never grows without bound.
    if (this.first > 1024 && this.first * 2 > waiting.length) {
      waiting.splice(0, this.first);
      this.first = 0;
    }
    if (this.first < waiting.length) {
      // Ask for a bell, then look again: a commit between the two is seen by the look.
      this.ring.wantCommitBell();
      if (reached(this.ring.head(), waiting[this.first].end)) queueMicrotask(() => this.settle());
    } else {
      waiting.length = 0;
      this.first = 0;
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * While the zone is Yellow or Red because of memory (or PSI), every child gives back what it
 * holds but does not use: a full garbage collection, then glibc's free lists returned to the
 * kernel. Otherwise the heaps and malloc arenas a spike grew stay at their peak after it, and
 * an engine sized close to its limit sits in Red with nothing left to shed: exporters
 * holding, replay paused, nothing delivered (`npm run bench:spike` at full size did that
 * before), or in Yellow above `zones.recover`, replaying at a tenth of its rate (the suite's
 * e2e-spike, once). Repeated while it lasts, since what one collection frees the next
 * requests may take.
 */
import type { Logger } from './log';
import { trimMalloc } from './native';
import type { ZoneCell } from './zone-cell';

const CHECK_MS = 250;
const RELIEF_EVERY_MS = 2000;
const MiB = 1024 * 1024;

/** Starts watching the zone; the returned function stops it. */
export function startMemoryRelief(cell: ZoneCell, log: Logger): () => void {
  let lastMs = -Infinity;
  let inEpisode = false;
  const timer = setInterval(() => {
    if (!cell.memoryShort()) {
      inEpisode = false;
      return;
    }
    const now = performance.now();
    if (now - lastMs < RELIEF_EVERY_MS) return;
    lastMs = now;
    const before = process.memoryUsage.rss();
    globalThis.gc?.();
    trimMalloc();
    const fields = { rssBeforeMiB: +(before / MiB).toFixed(1), rssAfterMiB: +(process.memoryUsage.rss() / MiB).toFixed(1) };
    if (inEpisode) log.debug('memory relief', fields);
    else log.info('memory short: collected garbage and returned free heap to the kernel', fields);
    inEpisode = true;
  }, CHECK_MS).unref();
  return () => clearInterval(timer);
}

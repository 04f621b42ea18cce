/**
 * While the zone is Yellow or Red because of memory (or PSI), every child gives back what it
 * holds but does not use: a full garbage collection, then glibc's free lists returned to the
 * kernel. Otherwise the heaps and malloc arenas a spike grew stay at their peak after it, and
 * an engine sized close to its limit sits in Red with nothing left to shed: exporters
 * holding, replay paused, nothing delivered (`npm run bench:spike` at full size did that
 * before), or in Yellow above `zones.recover`, replaying at a tenth of its rate (the suite's
 * e2e-spike, once). Repeated while it lasts, since what one collection frees the next
 * requests may take.
 *
 * Once the pressure is over, what a spike grew would stay too: the replay that follows runs
 * in Green and allocates as it goes. So while the zone is calm, a child whose resident memory
 * stands well above what it held after its last collection collects once more, at most every
 * CALM_EVERY_MS (a full collection of these small heaps takes milliseconds).
 */
import type { Logger } from './log';
import { trimMalloc } from './native';
import type { ZoneCell } from './zone-cell';

const CHECK_MS = 250;
const RELIEF_EVERY_MS = 2000;
const CALM_EVERY_MS = 30_000;
const MiB = 1024 * 1024;
/** Growth over the resident size after the last collection that makes a calm child collect again. */
const CALM_GROWTH_BYTES = 8 * MiB;

/** Starts watching the zone; the returned function stops it. */
export function startMemoryRelief(cell: ZoneCell, log: Logger): () => void {
  let lastMs = performance.now();
  let inEpisode = false;
  let settledRss = process.memoryUsage.rss();
  const relieve = (): { rssBeforeMiB: number; rssAfterMiB: number } => {
    lastMs = performance.now();
    const before = process.memoryUsage.rss();
    globalThis.gc?.();
    trimMalloc();
    settledRss = process.memoryUsage.rss();
    return { rssBeforeMiB: +(before / MiB).toFixed(1), rssAfterMiB: +(settledRss / MiB).toFixed(1) };
  };
  const timer = setInterval(() => {
    const now = performance.now();
    if (!cell.memoryShort()) {
      inEpisode = false;
      if (now - lastMs >= CALM_EVERY_MS && process.memoryUsage.rss() > settledRss + CALM_GROWTH_BYTES) log.debug('grown since the last collection: collected again', relieve());
      return;
    }
    if (now - lastMs < RELIEF_EVERY_MS) return;
    const fields = relieve();
    if (inEpisode) log.debug('memory relief', fields);
    else log.info('memory short: collected garbage and returned free heap to the kernel', fields);
    inEpisode = true;
  }, CHECK_MS).unref();
  return () => clearInterval(timer);
}

/**
 * After a burst, gives the rings' tmpfs pages back: a ring page stays charged to the memory
 * cgroup once touched, and is never reclaimed without swap, so without this the rings would
 * hold their peak fill for the life of the engine. A writer that has published nothing for a
 * while releases its ring's free part (RingWriter.releaseFree). A ring in steady use is left
 * alone: its pages would only be faulted in again, which costs more than the copy in a VM.
 */
import type { Logger } from './log';
import type { RingWriter } from './ring';

/** How long a writer must be idle before its ring's free pages go back. */
const IDLE_MS = 5000;

/** Starts watching; the returned function stops it. */
export function releaseIdleRings(writers: ReadonlyMap<string, RingWriter>, log: Logger): () => void {
  // Each writer's tail at the last look, and the tail at which its ring was last released.
  const seen = new Map<RingWriter, number>();
  const released = new Map<RingWriter, number>();
  const timer = setInterval(() => {
    for (const [name, writer] of writers) {
      const tail = writer.published;
      const idle = seen.get(writer) === tail;
      seen.set(writer, tail);
      if (!idle || released.get(writer) === tail) continue;
      released.set(writer, tail);
      try {
        const bytes = writer.releaseFree();
        if (bytes > 0) log.debug('idle ring released its free pages', { ring: name, bytes });
      } catch (err) {
        log.warn('could not release an idle ring\'s free pages', { ring: name, err });
      }
    }
  }, IDLE_MS).unref();
  return () => clearInterval(timer);
}

/**
 * What /readyz answers. The engine is ready when it is not shutting down and every ingest
 * worker
 *   - runs and has reported ready (it listens on every configured address),
 *   - answers the supervisor within metrics.child_timeout_ms (a worker that cannot answer
 *     a control message cannot be trusted to answer clients), and
 *   - is not refusing: it refused no request for lack of room (both of its rings full, or
 *     ingest.max_inflight_bytes reached; gophership_ingest_refusing) within the last
 *     metrics.refusing_window_ms.
 * Refusals that are the client's doing (too large, malformed, deadline) do not count.
 */
import type { MetricsSnapshot } from '../common/child-protocol';
import type { ChildSlot } from './child-slot';

export interface Readiness {
  ready: boolean;
  /** Why not, one line per cause; empty when ready. */
  reasons: string[];
}

export async function checkReadiness(stopping: boolean, ingest: readonly ChildSlot[], timeoutMs: number, refusingWindowMs: number): Promise<Readiness> {
  if (stopping) return { ready: false, reasons: ['shutting down'] };
  if (ingest.length === 0) return { ready: false, reasons: ['no ingest worker started yet'] };
  const reasons = await Promise.all(
    ingest.map(async (slot): Promise<string | undefined> => {
      if (!slot.ready) return `${slot.name}: not listening (starting or restarting)`;
      const metrics = await slot.metrics(timeoutMs);
      if (metrics === undefined) return `${slot.name}: did not answer within ${timeoutMs} ms`;
      if (refusing(metrics)) return `${slot.name}: refused requests for lack of room within the last ${refusingWindowMs} ms`;
      return undefined;
    }),
  );
  const causes = reasons.filter((r): r is string => r !== undefined);
  return { ready: causes.length === 0, reasons: causes };
}

function refusing(metrics: MetricsSnapshot): boolean {
  const gauge = metrics.find((m) => m.name === 'gophership_ingest_refusing');
  return gauge !== undefined && gauge.values.some((v) => v.value > 0);
}

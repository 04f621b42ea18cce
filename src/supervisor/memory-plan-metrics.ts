/**
 * The memory plan made at start, as series beside the live usage (zone-metrics.ts), so a
 * dashboard shows how close the engine runs to what it planned for.
 */
import type { MemoryPlan } from '../common/memory-plan';
import { mirroredGauge } from '../common/mirrored-metrics';

export function registerMemoryPlanMetrics(plan: MemoryPlan): void {
  mirroredGauge({
    name: 'gophership_memory_plan_bytes',
    help: 'The memory plan\'s worst case, by part (rings, heaps, young_generations, runtime, ingest_inflight, vault_buffers, export_buffers, supervisor_heap); their sum stays under gophership_memory_plan_budget_bytes.',
    labelNames: ['part'],
    read: (r) => {
      for (const [part, bytes] of Object.entries(plan.parts)) r({ part }, bytes);
    },
  });
  mirroredGauge({ name: 'gophership_memory_plan_budget_bytes', help: 'What the memory plan may use: memory.fraction of the limit it was made for.', read: (r) => r({}, plan.budget_bytes) });
}

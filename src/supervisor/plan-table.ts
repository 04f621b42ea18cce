/** The memory plan as `gophership check-config --plan` prints it: for people, not parsers. */
import type { MemoryPlan } from '../common/memory-plan';

const MiB = 1024 * 1024;

export function formatPlan(plan: MemoryPlan): string {
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
  const lines = [
    `memory limit ${mib(plan.limit_bytes)} (${plan.limit_source}); the plan may use ${plan.fraction} of it: ${mib(plan.budget_bytes)}`,
    '',
    'sizes:',
    ...Object.entries(plan.sizes).map(([key, s]) => `  ${key.padEnd(34)} ${String(key.endsWith('_mib') || key.endsWith('workers') ? s.value : mib(s.value)).padStart(10)}  ${s.source}`),
    '',
    'worst case:',
    ...Object.entries(plan.parts).map(([part, bytes]) => `  ${part.padEnd(34)} ${mib(bytes).padStart(10)}`),
    `  ${'total'.padEnd(34)} ${mib(plan.total_bytes).padStart(10)}  of ${mib(plan.budget_bytes)} (${((plan.total_bytes / plan.limit_bytes) * 100).toFixed(0)} % of the limit)`,
  ];
  return `${lines.join('\n')}\n`;
}

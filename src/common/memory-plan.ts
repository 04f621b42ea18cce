/**
 * The memory plan: every size the engine uses, derived from the memory limit it runs under
 * unless the configuration sets it, so that the worst case of all of them together (every
 * ring full, every in-flight budget used, every heap at its cap with its young generation,
 * each process's runtime, the vault's and the exporters' buffers) stays under a stated
 * fraction of the limit. The operator sets a limit and nothing else; a size set by hand that
 * cannot fit is refused at start instead of being found by the OOM killer.
 *
 * Pure arithmetic: config.ts feeds it the explicit values and the limit, and writes the
 * planned sizes into the resolved configuration that every process reads. Nothing else
 * decides a size.
 */
import { ConfigError } from './errors';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What the plan may use of the limit; the rest is for the kernel (page tables, socket buffers) and the node binary's hot code pages, which are reclaimable but thrash when squeezed. */
export const DEFAULT_PLAN_FRACTION = 0.85;
/**
 * A Node process's memory outside its V8 heap at rest: code, the runtime's C++ heap, thread
 * stacks. Measured (docs/benchmarks.md, "Resting footprint"): a bare `node` holds about
 * 6.5 MiB anonymous with about 3 MiB of heap, our children 8-10 MiB beyond their heap.
 */
export const RUNTIME_BYTES = 10 * MiB;
/** The supervisor runs without a heap cap (the operator starts it); what its heap may use here: metrics aggregation and the control plane. */
export const SUPERVISOR_HEAP_BYTES = 16 * MiB;
/** A ring record's header and alignment, rounded up. */
export const RECORD_FRAMING_BYTES = 64;
/**
 * A lines record holds at most one pending partial line (max_line_bytes) plus one socket
 * read (64 KiB in Node) plus its small header; see src/ingest/lines-framer.ts.
 */
export const LINES_RECORD_SLACK_BYTES = 128 * KiB;
/** What a file or stdout exporter reads from the rings per batch; its JSON output takes a few times that. */
export const DECODED_BATCH_BYTES = MiB;
/** OTLP/JSON bytes per protobuf byte at the most: a string of control characters, each written \u00XX. */
export const JSON_EXPANSION = 6;
/** The vault's segment reader reads ahead this much. */
export const VAULT_READ_WINDOW_BYTES = MiB;
/** Staging buffers of vault.write_buffer_bytes the vault rotates: two writes in flight while the third stages. */
export const VAULT_WRITE_BUFFERS = 3;
/** A 4 KiB-aligned O_DIRECT write never needs less. */
const MIN_VAULT_WRITE_BYTES = MiB;
const MIN_RING_BYTES = MiB;
const MAX_RING_BYTES = 64 * MiB;
/** The rings' share of the budget when nothing is set: the rest goes to the processes. */
const RING_SHARE = 0.25;
/** Ingest workers get one per 256 MiB of limit, up to one per core. */
const LIMIT_PER_WORKER = 256 * MiB;

export type SizeSource = 'explicit' | 'derived';

export type PlanPart = 'runtime' | 'supervisor_heap' | 'heaps' | 'young_generations' | 'rings' | 'ingest_inflight' | 'vault_buffers' | 'export_buffers';

/** The sizes config.ts may leave open; undefined means "derive from the limit". */
export interface PlanInput {
  limitBytes: number;
  limitSource: string;
  fraction: number;
  cores: number;
  workers?: number;
  greenBytes?: number;
  redBytes?: number;
  replayBytes?: number;
  maxMessageBytes?: number;
  maxBodyBytes?: number;
  maxLineBytes?: number;
  maxInflightBytes?: number;
  ingestHeapMib?: number;
  exportHeapMib?: number;
  vaultHeapMib?: number;
  vaultWriteBytes?: number;
  exportProcesses: number;
}

export interface PlannedSizes {
  workers: number;
  greenBytes: number;
  redBytes: number;
  replayBytes: number;
  maxMessageBytes: number;
  maxBodyBytes: number;
  maxLineBytes: number;
  maxInflightBytes: number;
  ingestHeapMib: number;
  exportHeapMib: number;
  vaultHeapMib: number;
  vaultWriteBytes: number;
}

/** The default batch.max_bytes of an OTLP exporter (at most its max_message_bytes): a 256th of the limit, 256 KiB to 4 MiB. */
export function exportBatchBytesFor(limitBytes: number): number {
  return clampPow2(limitBytes / 256, 256 * KiB, 4 * MiB);
}

/** The plan as every process and tool sees it: JSON-safe, carried inside the resolved configuration. */
export interface MemoryPlan {
  limit_bytes: number;
  /** Where the limit came from: memory.limit_bytes, the environment, a cgroup, or the host. */
  limit_source: string;
  fraction: number;
  budget_bytes: number;
  /** The worst case, by part; `total_bytes` is their sum. */
  parts: Record<PlanPart, number>;
  total_bytes: number;
  /** Each planned key's value and whether the file set it or the plan derived it. */
  sizes: Record<string, { value: number; source: SizeSource }>;
}

/** How the exporters spend memory beyond their heap; config.ts knows the exporter list. */
export type ExportBuffersOf = (sizes: PlannedSizes) => number;

/** The semi-space a process of this heap cap gets: a sixteenth of the cap, 1 to 16 MiB (Node's default is 16). */
export function semiSpaceMib(heapMib: number): number {
  return Math.max(1, Math.min(16, Math.floor(heapMib / 16)));
}

/**
 * Freed C heap an exporter keeps for reuse (GLIBC_TUNABLES in child-slot.ts): an eighth of
 * its heap cap, at most 64 MiB.
 */
export function exporterMallocKeepBytes(heapMib: number): number {
  return Math.min(64, Math.floor(heapMib / 8)) * MiB;
}

export function planMemory(input: PlanInput, exportBuffers: ExportBuffersOf): MemoryPlan {
  const budget = Math.floor(input.limitBytes * input.fraction);
  // Rings first at their share, halved until everything fits; a ring never goes below what
  // its largest record needs.
  let ringUnit = clampPow2(RING_SHARE * budget / (2 * derivedWorkers(input) + 1), MIN_RING_BYTES, MAX_RING_BYTES);
  for (;;) {
    const sizes = derive(input, ringUnit);
    const plan = assemble(input, sizes, budget, exportBuffers(sizes));
    if (plan.total_bytes <= budget) return plan;
    if (ringUnit > MIN_RING_BYTES) {
      ringUnit /= 2;
      continue;
    }
    throw overBudget(input, plan, exportBuffers);
  }
}

/** Every size, with the rings at `ringUnit` where the file left them open. */
function derive(input: PlanInput, ringUnit: number): PlannedSizes {
  const L = input.limitBytes;
  const workers = derivedWorkers(input);
  const greenBytes = input.greenBytes ?? ringUnit;
  const redBytes = input.redBytes ?? ringUnit;
  const replayBytes = input.replayBytes ?? ringUnit;
  // A record never wraps inside a ring, so the largest one must fit twice in the smaller ring.
  const ringRoom = Math.min(greenBytes, redBytes) / 2 - RECORD_FRAMING_BYTES;
  const maxMessageBytes = input.maxMessageBytes ?? Math.max(KiB, Math.min(16 * MiB, ringRoom));
  const maxBodyBytes = input.maxBodyBytes ?? Math.max(KiB, Math.min(20 * MiB, ringRoom));
  const maxLineBytes = input.maxLineBytes ?? Math.max(16, Math.min(64 * KiB, ringRoom - LINES_RECORD_SLACK_BYTES));
  const largestRequest = Math.max(maxMessageBytes, maxBodyBytes);
  // Twice the largest request at least: one connection may hold half the budget
  // (src/ingest/inflight-budget.ts), and a second must still get a largest request in.
  const maxInflightBytes = input.maxInflightBytes ?? Math.max(2 * largestRequest, clampPow2(L / 20, MiB, 64 * MiB));
  const vaultWriteBytes = input.vaultWriteBytes ?? clampPow2(L / 64, MIN_VAULT_WRITE_BYTES, 8 * MiB);
  return {
    workers,
    greenBytes,
    redBytes,
    replayBytes,
    maxMessageBytes,
    maxBodyBytes,
    maxLineBytes,
    maxInflightBytes,
    ingestHeapMib: input.ingestHeapMib ?? clamp(Math.floor((L * 0.06) / MiB), 16, 256),
    exportHeapMib: input.exportHeapMib ?? clamp(Math.floor((L * 0.1) / MiB), 24, 512),
    vaultHeapMib: input.vaultHeapMib ?? clamp(Math.floor((L * 0.06) / MiB), 16, 128),
    vaultWriteBytes,
  };
}

function derivedWorkers(input: PlanInput): number {
  return input.workers ?? clamp(Math.floor(input.limitBytes / LIMIT_PER_WORKER), 1, Math.max(1, input.cores));
}

/** Each planned size: its configuration key, and its field in PlanInput and PlannedSizes. */
const PLANNED_KEYS: readonly (readonly [string, keyof PlannedSizes & keyof PlanInput])[] = [
  ['ingest.workers', 'workers'],
  ['rings.green_bytes', 'greenBytes'],
  ['rings.red_bytes', 'redBytes'],
  ['rings.replay_bytes', 'replayBytes'],
  ['ingest.max_message_bytes', 'maxMessageBytes'],
  ['ingest.otlp_http.max_body_bytes', 'maxBodyBytes'],
  ['ingest.lines.max_line_bytes', 'maxLineBytes'],
  ['ingest.max_inflight_bytes', 'maxInflightBytes'],
  ['ingest.max_heap_mib', 'ingestHeapMib'],
  ['export.max_heap_mib', 'exportHeapMib'],
  ['vault.max_heap_mib', 'vaultHeapMib'],
  ['vault.write_buffer_bytes', 'vaultWriteBytes'],
];

function assemble(input: PlanInput, s: PlannedSizes, budget: number, exportBuffers: number): MemoryPlan {
  const processes = [
    ...Array<number>(s.workers).fill(s.ingestHeapMib),
    ...Array<number>(input.exportProcesses).fill(s.exportHeapMib),
    s.vaultHeapMib,
  ];
  const parts: Record<PlanPart, number> = {
    // The children, and the supervisor.
    runtime: (processes.length + 1) * RUNTIME_BYTES,
    supervisor_heap: SUPERVISOR_HEAP_BYTES,
    heaps: processes.reduce((sum, mib) => sum + mib * MiB, 0),
    // V8's young generation is three semi-spaces (two, plus the new large-object space).
    young_generations: processes.reduce((sum, mib) => sum + 3 * semiSpaceMib(mib) * MiB, 0),
    rings: s.workers * (s.greenBytes + s.redBytes) + s.replayBytes,
    // Request bytes being received, held outside the V8 heap (Buffers).
    ingest_inflight: s.workers * s.maxInflightBytes,
    // The O_DIRECT writes' rotating staging buffers (VAULT_WRITE_BUFFERS: two
    // in flight, one staging), the replay's batches in flight, and the read-ahead window.
    vault_buffers: (VAULT_WRITE_BUFFERS + 1) * s.vaultWriteBytes + VAULT_READ_WINDOW_BYTES,
    export_buffers: input.exportProcesses * exportBuffers,
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  const sizes = Object.fromEntries(
    PLANNED_KEYS.map(([key, field]) => [key, { value: s[field], source: (input[field] === undefined ? 'derived' : 'explicit') as SizeSource }]),
  );
  return { limit_bytes: input.limitBytes, limit_source: input.limitSource, fraction: input.fraction, budget_bytes: budget, parts, total_bytes: total, sizes };
}

/**
 * The refusal names what the file set (the operator's levers) and the smallest limit at
 * which this configuration fits.
 */
function overBudget(input: PlanInput, plan: MemoryPlan, exportBuffers: ExportBuffersOf): ConfigError {
  const explicitKeys = Object.entries(plan.sizes).filter(([, s]) => s.source === 'explicit').map(([k]) => k);
  const minimum = smallestLimitMib(input, exportBuffers);
  const breakdown = Object.entries(plan.parts).map(([part, bytes]) => `${part} ${mib(bytes)}`).join(', ');
  const atLeast = minimum === undefined ? 'no memory limit fits it' : `it needs a memory limit of at least ${minimum} MiB`;
  const levers = explicitKeys.length > 0
    ? `lower ${explicitKeys.join(', ')} (set in the configuration) or raise the limit (${atLeast})`
    : `this layout (${plan.sizes['ingest.workers'].value} ingest worker(s), ${input.exportProcesses} exporter process(es)): ${atLeast}`;
  return new ConfigError(
    `the memory plan needs ${mib(plan.total_bytes)} (${breakdown}) but may use ${mib(plan.budget_bytes)}, ${input.fraction} of the ${mib(input.limitBytes)} memory limit (${input.limitSource}): ${levers}`,
  );
}

/** The smallest limit, in MiB, at which the same configuration gets a plan (sizes only grow with the limit, so a bisection finds it). */
function smallestLimitMib(input: PlanInput, exportBuffers: ExportBuffersOf): number | undefined {
  const fits = (limitMib: number): boolean => {
    try {
      planMemory({ ...input, limitBytes: limitMib * MiB }, exportBuffers);
      return true;
    } catch {
      return false;
    }
  };
  let lo = Math.floor(input.limitBytes / MiB);
  let hi = 1024 * 1024;
  if (!fits(hi)) return undefined;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / MiB) * 10) / 10} MiB`;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** The largest power of two not above v, within [lo, hi] (both powers of two). */
function clampPow2(v: number, lo: number, hi: number): number {
  if (v < lo) return lo;
  return Math.min(hi, 2 ** Math.floor(Math.log2(v)));
}

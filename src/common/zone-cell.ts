/**
 * The zone as every process sees it: a few words in a shared-memory file next to the rings.
 * The supervisor's pressure monitor is the only writer; ingest workers read the zone word
 * on every request (one Atomics.load), exporters and the vault when they pick up work.
 *
 * Layout (little-endian words): zone, causes, sequence, then at byte 16 the monotonic clock
 * (ns) of the decision. The sequence is stored last, so a reader that sees a new sequence
 * also sees the zone and time that go with it.
 */
import { join } from 'node:path';
import { mapShared } from './native';

export type Zone = 'green' | 'yellow' | 'red';

const CELL_BYTES = 4096;
const W_ZONE = 0;
const W_CAUSES = 1;
const W_SEQ = 2;
const T_DECIDED = 2; // BigInt64 index: byte 16

export const ZONES: readonly Zone[] = ['green', 'yellow', 'red'];
/** What an operator may set: the monitor deciding (`auto`), or a zone pinned. */
export type ZoneMode = 'auto' | Zone;
export const ZONE_MODES: readonly ZoneMode[] = ['auto', ...ZONES];
const RED_LEVEL = ZONES.indexOf('red');

/** Why the zone is what it is; several can hold at once. */
export const enum ZoneCause {
  Memory = 1,
  Psi = 2,
  Ring = 4,
  Forced = 8,
}

export function zoneCellPath(ringDir: string): string {
  return join(ringDir, 'zone');
}

export class ZoneCell {
  private readonly words: Int32Array;
  private readonly times: BigInt64Array;

  constructor(path: string) {
    const memory = mapShared(path, CELL_BYTES);
    this.words = new Int32Array(memory, 0, 4);
    this.times = new BigInt64Array(memory, 0, 4);
  }

  /** 0 green, 1 yellow, 2 red: cheap enough for every request. */
  level(): number {
    return Atomics.load(this.words, W_ZONE);
  }

  zone(): Zone {
    return ZONES[this.level()] ?? 'green';
  }

  causes(): number {
    return Atomics.load(this.words, W_CAUSES);
  }

  /** One atomic load: what ingest asks of every request. */
  isRed(): boolean {
    return this.level() === RED_LEVEL;
  }

  /** Red because memory (or PSI) is short: what holds memory should give it back, not take more. */
  memoryRed(): boolean {
    return this.isRed() && this.memoryShort();
  }

  /** Yellow or Red with memory (or PSI) among the causes. */
  memoryShort(): boolean {
    return this.level() !== 0 && (this.causes() & (ZoneCause.Memory | ZoneCause.Psi)) !== 0;
  }

  sequence(): number {
    return Atomics.load(this.words, W_SEQ);
  }

  /** process.hrtime.bigint() of the latest decision: CLOCK_MONOTONIC, the same in every process. */
  decidedAtNs(): bigint {
    return Atomics.load(this.times, T_DECIDED);
  }

  publish(zone: Zone, causes: number, decidedAtNs: bigint): void {
    Atomics.store(this.times, T_DECIDED, decidedAtNs);
    Atomics.store(this.words, W_CAUSES, causes);
    Atomics.store(this.words, W_ZONE, ZONES.indexOf(zone));
    Atomics.add(this.words, W_SEQ, 1);
  }
}

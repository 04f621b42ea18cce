/**
 * CPU and memory of a process tree (a receiver and everything it forked), read from /proc.
 * Linux only, like the engine. Processes may exit between listing and reading: such a
 * process is skipped, and its CPU is not lost because the kernel adds it to the parent's
 * cutime/cstime when reaped, which the parent's sample includes.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const KiB = 1024;

export interface TreeSample {
  pids: number[];
  /** Each live process's own cpuS and anonBytes shares, for a per-process breakdown. */
  cpuSByPid: Map<number, number>;
  anonBytesByPid: Map<number, number>;
  /** utime+stime of live processes plus cutime+cstime (their reaped children), seconds. */
  cpuS: number;
  rssBytes: number;
  /** RSS less file and shared-memory pages: the rings are shmem and count in every process mapping them. */
  anonBytes: number;
}

/** `root` and its descendants, following every thread's children list. */
export function listTree(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    out.push(pid);
    for (const tid of tids) {
      const children = readOrEmpty(`/proc/${pid}/task/${tid}/children`).trim();
      if (children !== '') queue.push(...children.split(' ').map(Number));
    }
  }
  return out;
}

export function sampleTree(root: number): TreeSample {
  const sample: TreeSample = { pids: [], cpuSByPid: new Map(), anonBytesByPid: new Map(), cpuS: 0, rssBytes: 0, anonBytes: 0 };
  for (const pid of listTree(root)) {
    const stat = readOrEmpty(`/proc/${pid}/stat`);
    const status = readOrEmpty(`/proc/${pid}/status`);
    if (stat === '' || status === '') continue;
    // Fields after the parenthesised command name (which may hold spaces): utime is the
    // 14th field of the line, so index 11 here; stime, cutime, cstime follow.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    sample.pids.push(pid);
    sample.cpuSByPid.set(pid, ticks / CLOCK_TICKS);
    sample.cpuS += ticks / CLOCK_TICKS;
    const anonBytes = statusKiB(status, 'RssAnon') * KiB;
    sample.anonBytesByPid.set(pid, anonBytes);
    sample.rssBytes += statusKiB(status, 'VmRSS') * KiB;
    sample.anonBytes += anonBytes;
  }
  return sample;
}

/** Each process's own peak RSS (VmHWM). Summed, peaks at different times add up: an upper bound. */
export function peakRssByPid(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, statusKiB(readOrEmpty(`/proc/${pid}/status`), 'VmHWM') * KiB]));
}

/** CPU seconds of this process's reaped children: how a process's whole life is measured once it exited. */
export function reapedChildrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/**
 * CPU seconds the whole machine spent busy (all CPUs, including time stolen by the
 * hypervisor): less what the run itself used, it shows how much other work shared the
 * machine, which is the first thing to look at when two rounds disagree.
 */
export function machineBusyS(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user already).
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/**
 * Established TCP connections to local `port` held by each of `pids`, in that order: shows
 * how SO_REUSEPORT spread the generator's connections over the ingest workers.
 */
export function connectionsPerProcess(pids: readonly number[], port: number): number[] {
  const established = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readOrEmpty(file).split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[1] is local "ADDR:PORT" in hex, cols[3] the state (01 = ESTABLISHED), cols[9] the inode.
      if (cols.length > 9 && cols[3] === '01' && parseInt(cols[1].split(':')[1], 16) === port) established.add(cols[9]);
    }
  }
  return pids.map((pid) => {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return 0;
    }
    let count = 0;
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m !== null && established.has(m[1])) count++;
    }
    return count;
  });
}

/**
 * Samples a tree at a fixed interval and keeps the maxima; `finish()` takes the last sample,
 * which is the one CPU is read from, so the interval bounds only the memory maxima's error.
 */
export class TreeSampler {
  maxRssBytes = 0;
  maxAnonBytes = 0;
  readonly maxAnonBytesByPid = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): TreeSample {
    const s = sampleTree(this.root);
    this.maxRssBytes = Math.max(this.maxRssBytes, s.rssBytes);
    this.maxAnonBytes = Math.max(this.maxAnonBytes, s.anonBytes);
    for (const [pid, bytes] of s.anonBytesByPid) this.maxAnonBytesByPid.set(pid, Math.max(bytes, this.maxAnonBytesByPid.get(pid) ?? 0));
    return s;
  }

  /** The final sample plus each process's VmHWM, read while every process still lives. */
  finish(): { last: TreeSample; peakRssByPid: Map<number, number> } {
    clearInterval(this.timer);
    const last = this.sample();
    return { last, peakRssByPid: peakRssByPid(last.pids) };
  }
}

function statusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m === null ? 0 : Number(m[1]);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

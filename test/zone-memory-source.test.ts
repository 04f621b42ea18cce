import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_PATHS, detectMemorySource, type HostPaths } from '../src/common/memory-source';
import { parsePsi } from '../src/supervisor/psi';

const MiB = 1024 * 1024;
const PSI = 'some avg10=12.50 avg60=3.00 avg300=1.00 total=123\nfull avg10=2.00 avg60=0.00 avg300=0.00 total=45\n';

/** A fake /proc and /sys/fs/cgroup laid out as the kernel lays them out, files as given. */
function hostTree(t: { teardown(fn: () => void): void }, procSelfCgroup: string, files: Record<string, string>): HostPaths {
  const root = mkdtempSync(join(tmpdir(), 'gs-cgroup-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('proc/self/cgroup', procSelfCgroup);
  write('proc/meminfo', 'MemTotal:       1000000 kB\nMemFree:          10000 kB\nMemAvailable:    250000 kB\n');
  write('proc/pressure/memory', PSI);
  for (const [path, text] of Object.entries(files)) write(join('sys/fs/cgroup', path), text);
  return { procSelfCgroup: join(root, 'proc/self/cgroup'), cgroupRoot: join(root, 'sys/fs/cgroup'), meminfo: join(root, 'proc/meminfo'), hostPsi: join(root, 'proc/pressure/memory') };
}

test('cgroup v2: working set is memory.current minus inactive_file, against memory.max; PSI from the cgroup', (t) => {
  const paths = hostTree(t, '0::/kubepods/pod1/ctr\n', {
    'kubepods/pod1/ctr/memory.current': `${200 * MiB}\n`,
    'kubepods/pod1/ctr/memory.max': `${256 * MiB}\n`,
    'kubepods/pod1/ctr/memory.stat': `anon ${150 * MiB}\nfile ${50 * MiB}\nactive_file ${20 * MiB}\ninactive_file ${30 * MiB}\n`,
    'kubepods/pod1/ctr/memory.pressure': PSI,
    'kubepods/memory.max': 'max\n',
  });
  const source = detectMemorySource(paths);
  t.teardown(() => source.close());
  t.is(source.kind, 'cgroup-v2');
  t.deepEqual(source.read(), { usageBytes: 170 * MiB, limitBytes: 256 * MiB });
  t.is(source.psiPath, join(paths.cgroupRoot, 'kubepods/pod1/ctr/memory.pressure'));
});

test('cgroup v2: a limit set only on an ancestor (the pod) is the one that applies', (t) => {
  const paths = hostTree(t, '0::/kubepods/pod1/ctr\n', {
    'kubepods/pod1/ctr/memory.current': `${10 * MiB}\n`,
    'kubepods/pod1/ctr/memory.max': 'max\n',
    'kubepods/pod1/ctr/memory.stat': 'inactive_file 0\n',
    'kubepods/pod1/memory.current': `${300 * MiB}\n`,
    'kubepods/pod1/memory.max': `${512 * MiB}\n`,
    'kubepods/pod1/memory.stat': `inactive_file ${100 * MiB}\n`,
  });
  const source = detectMemorySource(paths);
  t.teardown(() => source.close());
  t.is(source.path, join(paths.cgroupRoot, 'kubepods/pod1'));
  t.deepEqual(source.read(), { usageBytes: 200 * MiB, limitBytes: 512 * MiB });
});

test('cgroup v1 (hybrid host): usage_in_bytes minus total_inactive_file against limit_in_bytes', (t) => {
  const paths = hostTree(t, '12:pids:/\n4:memory:/engine\n1:name=systemd:/\n0::/\n', {
    'memory/engine/memory.usage_in_bytes': `${120 * MiB}\n`,
    'memory/engine/memory.limit_in_bytes': `${256 * MiB}\n`,
    'memory/engine/memory.stat': `cache ${40 * MiB}\ninactive_file ${1 * MiB}\ntotal_inactive_file ${20 * MiB}\n`,
    'memory/memory.limit_in_bytes': '9223372036854771712\n',
    'unified/cgroup.procs': '',
  });
  const source = detectMemorySource(paths);
  t.teardown(() => source.close());
  t.is(source.kind, 'cgroup-v1');
  t.deepEqual(source.read(), { usageBytes: 100 * MiB, limitBytes: 256 * MiB });
  t.is(source.psiPath, paths.hostPsi, 'no memory.pressure in the unified tree: the host-wide PSI');
});

test('no limit anywhere: the host, MemTotal minus MemAvailable against MemTotal', (t) => {
  const paths = hostTree(t, '4:memory:/\n0::/\n', {
    'memory/memory.usage_in_bytes': `${120 * MiB}\n`,
    'memory/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/memory.stat': 'total_inactive_file 0\n',
  });
  const source = detectMemorySource(paths);
  t.teardown(() => source.close());
  t.is(source.kind, 'host');
  t.deepEqual(source.read(), { usageBytes: 750000 * 1024, limitBytes: 1000000 * 1024 });
});

test('PSI lines parse to fractions', (t) => {
  t.deepEqual(parsePsi(PSI), { some: 0.125, full: 0.02 });
});

test("this host's own files: what the supervisor would read here is a sane reading", (t) => {
  const source = detectMemorySource(HOST_PATHS);
  t.teardown(() => source.close());
  const { usageBytes, limitBytes } = source.read();
  t.log(`${source.kind} at ${source.path}: ${(usageBytes / MiB).toFixed(0)} of ${(limitBytes / MiB).toFixed(0)} MiB, PSI ${source.psiPath ?? 'none'}`);
  t.true(usageBytes > 0 && usageBytes < limitBytes);
});

const V1_MEMORY = '/sys/fs/cgroup/memory';
const V2_ROOT = '/sys/fs/cgroup';

const v1 = isWritableDir(V1_MEMORY);
const v2 = !v1 && readFileSync('/proc/self/mounts', 'utf8').includes(' /sys/fs/cgroup cgroup2 ');
const cgroupTest = v1 || v2 ? test : test.skip;

cgroupTest(`a real memory cgroup with a 256 MiB limit, joined by a child process, is found and read${v1 || v2 ? '' : ' (skipped: no writable memory cgroup, v1 or v2, on this host)'}`, (t) => {
  const dir = mkdtempSync(join(v1 ? V1_MEMORY : V2_ROOT, 'gs-test-'));
  t.teardown(() => rmdirSync(dir));
  writeFileSync(join(dir, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(256 * MiB));
  // The child joins the cgroup first, then looks at its own /proc/self/cgroup as the supervisor does.
  const probe = `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'cgroup.procs'))}, String(process.pid));
    const s = require(${JSON.stringify(join(__dirname, '../src/common/memory-source.js'))}).detectMemorySource();
    console.log(JSON.stringify({ kind: s.kind, path: s.path, ...s.read() }));`;
  const seen = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as { kind: string; path: string; usageBytes: number; limitBytes: number };
  t.is(seen.kind, v1 ? 'cgroup-v1' : 'cgroup-v2');
  t.is(seen.path, dir);
  t.is(seen.limitBytes, 256 * MiB);
  t.true(seen.usageBytes > 0 && seen.usageBytes < 256 * MiB, `usage ${seen.usageBytes}`);
});

function isWritableDir(path: string): boolean {
  try {
    rmdirSync(mkdtempSync(join(path, 'gs-probe-')));
    return true;
  } catch {
    return false;
  }
}

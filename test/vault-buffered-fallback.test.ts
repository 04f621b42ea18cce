import test from 'ava';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startEngine, scratchDir } from './helpers/engine';
import { gsCtl } from './helpers/gs-ctl';
import { countVaultIds } from './helpers/output';
import { sendRecords } from './helpers/otel-sdk';

/** ramfs refuses O_DIRECT (EINVAL), as some FUSE and network filesystems do; only root can mount it. */
function mountRamfs(): string {
  const dir = scratchDir('test-ramfs-');
  try {
    execFileSync('mount', ['-t', 'ramfs', 'none', dir], { stdio: 'pipe' });
    return dir;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Why ramfs cannot be mounted here, or undefined when it can (tried once, unmounted). */
function ramfsUnavailable(): string | undefined {
  try {
    unmount(mountRamfs());
    return undefined;
  } catch {
    return 'cannot mount ramfs here (root is needed)';
  }
}

const unavailable = ramfsUnavailable();
const ramfsTest = unavailable === undefined ? test : test.skip;

ramfsTest(`a vault on a filesystem that refuses O_DIRECT says so once, writes buffered, and loses nothing${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, async (t) => {
  const vaultDir = mountRamfs();
  t.teardown(() => unmount(vaultDir));
  const engine = await startEngine({ zones: { force: 'red' }, vault: { dir: vaultDir, segment_bytes: 1024 * 1024 } });
  t.teardown(() => engine.cleanup());
  const total = 20_000;
  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'ramfs', total), { delivered: total, failed: 0 });
  t.is(await engine.stop(), 0);

  const refusals = engine.logs.filter((l) => l.msg.startsWith('the filesystem refuses O_DIRECT'));
  t.is(refusals.length, 1, 'said once, not per segment');
  const vault = countVaultIds(vaultDir);
  t.is(vault.size, total, 'every record is in the vault');
  t.true([...vault.values()].every((n) => n === 1));
  const verify = await gsCtl('vault', 'verify', vaultDir);
  t.is(verify.code, 0, verify.stdout + verify.stderr);
});

import test from 'ava';
import { startEngine } from './helpers/engine';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Node offers no exit event for a process that is not its own child, so this polls, bounded. */
async function gone(pid: number, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  while (isAlive(pid) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}

test('children never outlive a SIGKILLed supervisor, even one stopped in its tracks', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const children = await Promise.all(['ingest-0', 'ingest-1', 'export-0', 'vault-0'].map((name) => engine.childPid(name)));
  // A stopped child cannot run its IPC-disconnect handler; only PR_SET_PDEATHSIG ends it.
  process.kill(children[2], 'SIGSTOP');
  process.kill(engine.process.pid!, 'SIGKILL');
  await Promise.all(children.map((pid) => gone(pid, 10_000)));
  t.deepEqual(children.filter(isAlive), [], 'no child is left running');
});

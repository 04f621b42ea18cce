/**
 * `gs-ctl rings`: ring directories of this uid that no running engine uses, what they take
 * (tmpfs: RAM until unlinked) and whether they still hold unacknowledged records; with
 * --prune, removes them. Offline: it reads files and locks, it needs no engine. An engine
 * that stops cleanly removes its own rings; what this finds is left by crashes whose
 * data_dir was removed, or by an engine that was never started again.
 */
import { Command, Option } from 'clipanion';
import { closeSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lockRingDir, ownUid, removeIdleRings, ringDirInUse, ringDirUsage } from '../common/ring-files';
import { CtlCommand } from './ctl-command';

interface Orphan {
  dir: string;
  bytes: number;
  /** Unacknowledged record bytes: lost if the directory is removed. */
  held: number;
  /** Set with --prune. */
  outcome?: 'removed' | 'kept: holds records' | 'kept: in use' | 'kept: not empty';
}

export class RingsCommand extends CtlCommand {
  static override paths = [['rings']];
  static override usage = Command.Usage({
    description: 'List (and with --prune remove) ring directories that no running engine uses.',
    details: `
      Looks in DIR (default /dev/shm) for ring directories of this uid: the engine's own
      \`gophership-*\` directories and, only where --in names DIR, any directory holding ring
      files (a configured rings.dir). One is in use while an engine holds its lock
      or any process maps a file in it; those are never listed. For the others it prints
      the bytes they take (tmpfs: memory) and the bytes of records no reader acknowledged.

      Records held in a ring are delivered by starting the engine again on the same
      data_dir (its \`rings-dir\` file names the directory) or the same rings.dir.
      \`--prune\` removes the directories that hold no such records and keeps the others
      unless \`--force\` is given, which drops those records.

      Exit codes: 0 listed, or every orphan removed; 1 a directory was kept (it holds
      records and --force was not given, or it holds files that are not the engine's);
      2 usage error.
    `,
    examples: [
      ['List orphaned ring directories', '$0 rings'],
      ['Remove those that hold no records', '$0 rings --prune'],
      ['Remove all of them, dropping what they hold', '$0 rings --prune --force'],
      ['Look where a configured rings.dir lives', '$0 rings --in /run/gophership'],
    ],
  });

  in = Option.String('--in', { description: 'Directory to look in (default /dev/shm, where only gophership-* directories are considered)' });
  prune = Option.Boolean('--prune', false, { description: 'Remove orphaned ring directories that hold no records' });
  force = Option.Boolean('--force', false, { description: 'With --prune: remove those that hold records too' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object instead of a table' });

  async execute(): Promise<number> {
    if (this.force && !this.prune) return this.usageError('--force only goes with --prune');
    const parent = this.in ?? '/dev/shm';
    if (lstatSync(parent, { throwIfNoEntry: false })?.isDirectory() !== true) return this.usageError(`${parent} is not a directory`);
    // In the shared /dev/shm only the engine's own names: other programs' (and test suites')
    // ring-shaped directories there are not ours to judge.
    const orphans = findOrphans(parent, this.in !== undefined);
    if (this.prune) for (const orphan of orphans) orphan.outcome = prune(orphan, this.force);
    this.context.stdout.write(this.json ? `${JSON.stringify({ in: parent, orphans })}\n` : format(parent, orphans, this.prune));
    return orphans.some((o) => o.outcome !== undefined && o.outcome !== 'removed') ? 1 : 0;
  }
}

function findOrphans(parent: string, anyName: boolean): Orphan[] {
  const orphans: Orphan[] = [];
  for (const name of readdirSync(parent).sort()) {
    const dir = join(parent, name);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || st.uid !== ownUid()) continue;
    if (!name.startsWith('gophership-') && !(anyName && holdsRingFiles(dir))) continue;
    try {
      if (ringDirInUse(dir)) continue;
      orphans.push({ dir, ...ringDirUsage(dir) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    }
  }
  return orphans;
}

function holdsRingFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name.endsWith('.ring'));
  } catch {
    return false;
  }
}

function prune(orphan: Orphan, force: boolean): NonNullable<Orphan['outcome']> {
  if (orphan.held > 0 && !force) return 'kept: holds records';
  // The lock keeps an engine from starting on the directory while it goes.
  const lock = lockRingDir(orphan.dir);
  if (lock === null) return 'kept: in use';
  try {
    removeIdleRings(orphan.dir, force);
  } finally {
    closeSync(lock);
  }
  return existsSync(orphan.dir) ? 'kept: not empty' : 'removed';
}

function format(parent: string, orphans: readonly Orphan[], pruned: boolean): string {
  if (orphans.length === 0) return `no ring directory in ${parent} is left without an engine\n`;
  const rows = orphans.map((o) => [o.dir, String(o.bytes), String(o.held), ...(pruned ? [o.outcome ?? ''] : [])]);
  const header = ['DIRECTORY', 'BYTES', 'UNACKED BYTES', ...(pruned ? ['OUTCOME'] : [])];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  const held = orphans.filter((o) => o.held > 0 && o.outcome !== 'removed');
  if (held.length > 0) {
    const bytes = held.reduce((sum, o) => sum + o.held, 0);
    lines.push(`${held.length} of them hold ${bytes} bytes of unacknowledged records: start the engine that used them to deliver those, or \`gs-ctl rings --prune --force\` to drop them`);
  }
  return `${lines.join('\n')}\n`;
}

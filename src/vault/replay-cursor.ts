/**
 * How far replay has come: the seq of the last vault record that every exporter has taken,
 * kept in `<vault>/replay-cursor.json` as `{"seq":N}`. Replay resumes after it, so a replay
 * killed at any instant exports again at most the batches it had handed over and not yet
 * seen exported (the one batch of `gs-ctl replay`, up to four online), and never skips one.
 *
 * The file is replaced, never rewritten in place: a temp file is written and fsynced, renamed
 * over the cursor, and the directory fsynced. A crash leaves the old cursor or the new one,
 * never an empty or half-written file, so a damaged cursor means a person or the disk did it.
 */
import { syncDirectory } from '../common/sync-directory';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayCursorCorruptError, describe, invalidArgument } from '../common/errors';

export const CURSOR_FILE = 'replay-cursor.json';
const TEMP_FILE = `${CURSOR_FILE}.tmp`;
const FILE_MODE = 0o600;

/** The last seq replayed from the vault in `vaultDir`; 0 when nothing was replayed yet. */
export function readCursor(vaultDir: string): number {
  const path = join(vaultDir, CURSOR_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const seq = parseCursor(text);
  if (seq === null) {
    throw new ReplayCursorCorruptError(
      `${path} does not hold a replay cursor (expected {"seq":N}, found ${describe(text)}): write {"seq":N} into it with N the last seq known to be exported, or delete it to replay the whole vault again (records exported before are exported twice)`,
    );
  }
  return seq;
}

/** Durably records that every vault record up to `seq` is exported. */
export function writeCursor(vaultDir: string, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw invalidArgument('a seq (an integer >= 0)', 'seq', seq);
  const temp = join(vaultDir, TEMP_FILE);
  const fd = openSync(temp, 'w', FILE_MODE);
  try {
    writeSync(fd, `${JSON.stringify({ seq })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(vaultDir, CURSOR_FILE));
  syncDirectory(vaultDir);
}

function parseCursor(text: string): number | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const seq = (value as { seq?: unknown } | null)?.seq;
  return Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : null;
}

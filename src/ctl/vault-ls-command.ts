/**
 * `gs-ctl vault ls [DIR]`: what a vault directory holds, segment by segment. Reads only: a
 * torn tail is listed as found, never cut off, so an operator can look before recovery acts.
 */
import { Command, Option } from 'clipanion';
import { VaultReadCommand } from './vault-read-command';
import { basename } from 'node:path';
import { GopherShipError, VaultCorruptError } from '../common/errors';
import { scanSegment } from '../vault/segment-reader';
import { listSegments, type SegmentFile } from '../vault/vault-dir';

interface SegmentListing {
  file: string;
  first_seq: number | null;
  last_seq: number | null;
  records: number;
  bytes: number;
  /** Receive times, ISO 8601. */
  oldest: string | null;
  newest: string | null;
  /** Set when the segment header cannot be read; the other fields are then empty. */
  error?: string;
}

interface Listing {
  dir: string;
  segments: SegmentListing[];
  total: Omit<SegmentListing, 'file' | 'error'> & { segments: number };
}

export class VaultLsCommand extends VaultReadCommand {
  static override paths = [['vault', 'ls']];
  static override usage = Command.Usage({
    description: 'List the segments of a raw vault: seq range, records, bytes, receive times.',
    details: `
      Reads every segment of DIR and checks every record's CRC; damaged records are left
      out of the counts (\`gs-ctl vault verify\` says where they are). Nothing is changed:
      a torn tail a crash left behind is not cut off, so this is safe beside a running
      engine and before a replay. Without DIR: vault.dir of \`--config FILE\`, or of the
      embedded defaults (./var/vault, the vault of \`gophership run\` without --config).

      Exit codes: 0 listed; 1 a segment could not be read (I/O error); 2 usage error
      (DIR is not a directory, unknown option).
    `,
    examples: [
      ['List the vault of the embedded defaults (./var/vault)', '$0 vault ls'],
      ['List the vault of a configuration file, as one JSON object', '$0 vault ls --json --config /etc/gophership/gophership.yaml'],
      ['List a copied vault', '$0 vault ls /mnt/copy/vault'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object instead of a table' });

  async execute(): Promise<number> {
    const dir = this.vaultDir();
    if (typeof dir !== 'string') return dir.usage;
    let listing: Listing;
    try {
      listing = listVault(dir);
    } catch (err) {
      this.context.stderr.write(`gs-ctl vault ls: ${reason(err)}\n`);
      return 1;
    }
    this.context.stdout.write(this.json ? `${JSON.stringify(listing)}\n` : formatListing(listing));
    return 0;
  }
}

function listVault(dir: string): Listing {
  const segments = listSegments(dir).map(listSegment);
  let first = Infinity;
  let last = -Infinity;
  let oldest = Infinity;
  let newest = -Infinity;
  for (const s of segments) {
    if (s.first_seq !== null) first = Math.min(first, s.first_seq);
    if (s.last_seq !== null) last = Math.max(last, s.last_seq);
    if (s.oldest !== null) oldest = Math.min(oldest, Date.parse(s.oldest));
    if (s.newest !== null) newest = Math.max(newest, Date.parse(s.newest));
  }
  return {
    dir,
    segments,
    total: {
      segments: segments.length,
      first_seq: Number.isFinite(first) ? first : null,
      last_seq: Number.isFinite(last) ? last : null,
      records: segments.reduce((sum, s) => sum + s.records, 0),
      bytes: segments.reduce((sum, s) => sum + s.bytes, 0),
      oldest: isoTime(oldest),
      newest: isoTime(newest),
    },
  };
}

function listSegment(segment: SegmentFile): SegmentListing {
  const listing: SegmentListing = { file: basename(segment.path), first_seq: null, last_seq: null, records: 0, bytes: segment.bytes, oldest: null, newest: null };
  let oldest = Infinity;
  let newest = -Infinity;
  try {
    const scan = scanSegment(segment.path, (record) => {
      listing.first_seq ??= record.seq;
      listing.last_seq = record.seq;
      oldest = Math.min(oldest, record.receivedMs);
      newest = Math.max(newest, record.receivedMs);
    });
    listing.records = scan.records;
    listing.bytes = scan.fileBytes;
  } catch (err) {
    if (!(err instanceof VaultCorruptError)) throw err;
    return { ...listing, error: reason(err) };
  }
  return { ...listing, oldest: isoTime(oldest), newest: isoTime(newest) };
}

/** null for no time at all (±Infinity: no records), or one too far out for Date (the writer takes any finite time). */
function isoTime(ms: number): string | null {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

const HEADER = ['SEGMENT', 'FIRST SEQ', 'LAST SEQ', 'RECORDS', 'BYTES', 'OLDEST', 'NEWEST'];
// Names and times read best left-aligned, numbers right-aligned.
const LEFT_ALIGNED = new Set([0, 5, 6]);

function formatListing({ dir, segments, total }: Listing): string {
  const rows = segments.map((s) =>
    s.error === undefined ? [s.file, show(s.first_seq), show(s.last_seq), String(s.records), String(s.bytes), show(s.oldest), show(s.newest)] : null,
  );
  const widths = HEADER.map((title, i) => rows.reduce((width, row) => Math.max(width, row?.[i].length ?? 0), title.length));
  const line = (cells: string[]): string => cells.map((cell, i) => (LEFT_ALIGNED.has(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  const lines = [line(HEADER), ...segments.map((s, i) => rows[i] === null ? `${s.file}  unreadable: ${s.error}` : line(rows[i]!))];
  const range = total.first_seq === null ? 'no records' : `seq ${total.first_seq} to ${total.last_seq}, received ${show(total.oldest)} to ${show(total.newest)}`;
  lines.push(`total: ${total.segments} segments, ${total.records} records, ${total.bytes} bytes in ${dir}; ${range}`);
  return `${lines.join('\n')}\n`;
}

function show(value: number | string | null): string {
  return value === null ? '-' : String(value);
}

function reason(err: unknown): string {
  return err instanceof GopherShipError ? `${err.code}: ${err.message}` : (err as Error).message;
}

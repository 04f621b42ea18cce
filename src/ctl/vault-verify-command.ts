/**
 * `gs-ctl vault verify [DIR]`: checks every record of every segment and says where the damage
 * is. Reads only, so it can judge a vault before recovery cuts anything off, or beside a
 * running engine.
 */
import { Command, Option } from 'clipanion';
import { VaultReadCommand } from './vault-read-command';
import { basename } from 'node:path';
import { GopherShipError, VaultCorruptError } from '../common/errors';
import { SEGMENT_HEADER_BYTES, framedBytes } from '../vault/segment-format';
import { SegmentReader } from '../vault/segment-reader';
import { listSegments, type SegmentFile } from '../vault/vault-dir';

type Damage = 'corrupt record skipped' | 'torn tail' | 'unreadable segment header';

interface Problem {
  segment: string;
  /** Where the damaged bytes start in the segment file. */
  offset: number;
  bytes: number;
  what: Damage;
  detail?: string;
}

interface Verdict {
  dir: string;
  clean: boolean;
  segments: number;
  /** Good records: those a replay exports. */
  records: number;
  problems: Problem[];
}

export class VaultVerifyCommand extends VaultReadCommand {
  static override paths = [['vault', 'verify']];
  static override usage = Command.Usage({
    description: 'Check every record of a raw vault (CRC32C) and report damage.',
    details: `
      Reads every segment of DIR as replay would and reports each place where bytes had to
      be passed over: a corrupt record skipped between good ones (its records are lost to
      replay), or a torn tail (a record cut short by a crash, or damage at the end; recovery
      cuts it off). A segment whose header cannot be read is reported too. Nothing is
      changed. Without DIR: vault.dir of \`--config FILE\`, or of the embedded defaults
      (./var/vault, the vault of \`gophership run\` without --config).

      Exit codes: 0 every segment is clean; 1 damage found (the report says where), or a
      segment could not be read (I/O error); 2 usage error (DIR is not a directory, unknown
      option).
    `,
    examples: [
      ['Check the vault of the embedded defaults (./var/vault)', '$0 vault verify'],
      ['Check the vault of a configuration file, as one JSON object', '$0 vault verify --json --config /etc/gophership/gophership.yaml'],
      ['Check a copied vault', '$0 vault verify /mnt/copy/vault'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object instead of a report' });

  async execute(): Promise<number> {
    const dir = this.vaultDir();
    if (typeof dir !== 'string') return dir.usage;
    let verdict: Verdict;
    try {
      verdict = verifyVault(dir);
    } catch (err) {
      this.context.stderr.write(`gs-ctl vault verify: ${err instanceof GopherShipError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
      return 1;
    }
    this.context.stdout.write(this.json ? `${JSON.stringify(verdict)}\n` : formatVerdict(verdict));
    return verdict.clean ? 0 : 1;
  }
}

function verifyVault(dir: string): Verdict {
  const verdict: Verdict = { dir, clean: true, segments: 0, records: 0, problems: [] };
  for (const segment of listSegments(dir)) {
    const { records, problems } = verifySegment(segment);
    verdict.segments++;
    verdict.records += records;
    verdict.problems.push(...problems);
  }
  verdict.clean = verdict.problems.length === 0;
  return verdict;
}

function verifySegment({ path, bytes }: SegmentFile): { records: number; problems: Problem[] } {
  const segment = basename(path);
  let reader: SegmentReader;
  try {
    reader = new SegmentReader(path);
  } catch (err) {
    if (!(err instanceof VaultCorruptError)) throw err;
    // Without a header nothing in the file is read: all of it is lost to replay.
    return { records: 0, problems: [{ segment, offset: 0, bytes, what: 'unreadable segment header', detail: err.message }] };
  }
  try {
    const problems: Problem[] = [];
    // The reader hands out good records only; a gap between where one ends and the next
    // begins is a region it passed over.
    let expected = reader.header === null ? 0 : SEGMENT_HEADER_BYTES;
    for (let record = reader.next(); record !== null; record = reader.next()) {
      if (record.offset > expected) problems.push({ segment, offset: expected, bytes: record.offset - expected, what: 'corrupt record skipped' });
      expected = record.offset + framedBytes(record.payload.byteLength);
    }
    const scan = reader.scan();
    if (scan.tail === 'torn') problems.push({ segment, offset: scan.validEnd, bytes: scan.fileBytes - scan.validEnd, what: 'torn tail' });
    return { records: scan.records, problems };
  } finally {
    reader.close();
  }
}

function formatVerdict({ dir, clean, segments, records, problems }: Verdict): string {
  const lines = problems.map((p) => `${p.segment}  offset ${p.offset}  ${p.what} (${p.bytes} bytes)${p.detail === undefined ? '' : `: ${p.detail}`}`);
  lines.push(
    clean
      ? `ok: ${segments} segments, ${records} records in ${dir}, all clean`
      : `DAMAGED: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} in ${segments} segments of ${dir}; ${records} good records`,
  );
  return `${lines.join('\n')}\n`;
}

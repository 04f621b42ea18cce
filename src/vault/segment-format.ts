/**
 * The raw vault's on-disk format, shared by the segment writer and reader. docs/vault-format.md
 * has the byte tables and the reasons for each field; this file is the single place that
 * knows the offsets.
 *
 *   segment: [ header, 4096 bytes, own CRC ][ record ][ record ] ... [ zeros to the write alignment ]
 *   record:  magic u32 | crc u32 | version u8 | kind u8 | flags u8 | reserved u8 | length u32
 *            | seq u64 | received_ms f64 | payload | zeros to 8
 *
 * Everything is little-endian. A record's CRC32C covers every byte after the CRC field up to
 * the end of the payload, so a damaged kind, length or seq is caught as surely as a damaged
 * payload, with one contiguous checksum.
 */
import { VaultCorruptError } from '../common/errors';
import { crc32c } from '../common/native';
import type { RecordKind } from '../common/record-kind';
import type { RingRecord } from '../common/ring';

/** "GSVS" as it reads in a hex dump of the file. */
export const SEGMENT_MAGIC = 0x53565347;
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 4096;
const SEGMENT_CRC_AT = SEGMENT_HEADER_BYTES - 4;

/** "GSVR" as it reads in a hex dump of the file. */
export const RECORD_MAGIC = 0x52565347;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 32;
/** Records start at multiples of this, which is also the reader's resync stride. */
export const RECORD_ALIGNMENT = 8;
/** The first byte the record CRC covers: everything after the magic and the CRC itself. */
export const RECORD_CRC_FROM = 8;
export const MAX_PAYLOAD_BYTES = 0xffffffff;

const TWO_32 = 2 ** 32;
// A seq travels as a JS number; its high word must keep it a safe integer.
const MAX_SEQ_HIGH = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);

const NAME_PATTERN = /^seg-(\d{20})\.gsv$/;

/** What a record needs to be framed; a RingRecord is one. */
export type VaultInput = Pick<RingRecord, 'kind' | 'flags' | 'receivedMs' | 'payload'>;

export interface SegmentHeader {
  /** Sequence number of the segment's first record; also the segment's id and file name. */
  firstSeq: number;
  createdMs: number;
  /** Block size the writer padded and rewrote at; the reader does not depend on it. */
  writeAlignment: number;
}

export interface RecordHeader {
  crc: number;
  kind: RecordKind;
  flags: number;
  payloadBytes: number;
  seq: number;
  receivedMs: number;
}

/** Zero-padded to 20 digits so that names sort in sequence order. */
export function segmentFileName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(20, '0')}.gsv`;
}

/** The first sequence number a segment file name announces, or null for any other file. */
export function parseSegmentFileName(name: string): number | null {
  const match = NAME_PATTERN.exec(name);
  if (match === null) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}

/** Bytes a record takes in a segment, padding included. */
export function framedBytes(payloadBytes: number): number {
  return alignUp(RECORD_HEADER_BYTES + payloadBytes, RECORD_ALIGNMENT);
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Writes a complete segment header, its zero fill and CRC into `into[0, 4096)`. */
export function encodeSegmentHeader(into: Uint8Array, header: SegmentHeader): void {
  const block = into.subarray(0, SEGMENT_HEADER_BYTES);
  block.fill(0);
  const view = new DataView(block.buffer, block.byteOffset, SEGMENT_HEADER_BYTES);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint16(4, SEGMENT_VERSION, true);
  view.setUint16(6, SEGMENT_HEADER_BYTES, true);
  setU64(view, 8, header.firstSeq);
  setU64(view, 16, header.createdMs);
  view.setUint32(24, header.writeAlignment, true);
  view.setUint32(28, RECORD_ALIGNMENT, true);
  view.setUint32(SEGMENT_CRC_AT, crc32c(block.subarray(0, SEGMENT_CRC_AT)), true);
}

/** Decodes `bytes[0, 4096)`; throws VaultCorruptError saying what is wrong with it. */
export function decodeSegmentHeader(bytes: Uint8Array, path: string): SegmentHeader {
  const block = bytes.subarray(0, SEGMENT_HEADER_BYTES);
  if (block.byteLength < SEGMENT_HEADER_BYTES) throw new VaultCorruptError(`${path} is shorter than a segment header`);
  const view = new DataView(block.buffer, block.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(0, true) !== SEGMENT_MAGIC) throw new VaultCorruptError(`${path} is not a vault segment (bad magic)`);
  if (view.getUint32(SEGMENT_CRC_AT, true) !== crc32c(block.subarray(0, SEGMENT_CRC_AT))) {
    throw new VaultCorruptError(`${path} has a damaged segment header (checksum mismatch)`);
  }
  const version = view.getUint16(4, true);
  if (version !== SEGMENT_VERSION) {
    throw new VaultCorruptError(`${path} has segment format version ${version}; this build reads version ${SEGMENT_VERSION}`);
  }
  const firstSeq = getU64(view, 8);
  if (view.getUint16(6, true) !== SEGMENT_HEADER_BYTES || view.getUint32(28, true) !== RECORD_ALIGNMENT || firstSeq === null || firstSeq < 1) {
    throw new VaultCorruptError(`${path} has a segment header with impossible values`);
  }
  return { firstSeq, createdMs: getU64(view, 16) ?? 0, writeAlignment: view.getUint32(24, true) };
}

/**
 * Builds record headers in one reused 32-byte buffer, so that framing a record allocates
 * nothing; the CRC is chained over header and payload instead of copying them together.
 */
export class RecordFramer {
  readonly header = new Uint8Array(RECORD_HEADER_BYTES);
  private readonly view = new DataView(this.header.buffer);
  private readonly covered = this.header.subarray(RECORD_CRC_FROM);

  /** The header for `record` as record number `seq`; valid until the next call. */
  frame(seq: number, record: VaultInput): Uint8Array {
    const view = this.view;
    view.setUint32(0, RECORD_MAGIC, true);
    view.setUint8(8, RECORD_VERSION);
    view.setUint8(9, record.kind);
    view.setUint8(10, record.flags);
    view.setUint8(11, 0);
    view.setUint32(12, record.payload.byteLength, true);
    setU64(view, 16, seq);
    view.setFloat64(24, record.receivedMs, true);
    view.setUint32(4, crc32c(record.payload, crc32c(this.covered)), true);
    return this.header;
  }
}

/**
 * The header at `at`, or null when the bytes there cannot be the start of a record (wrong
 * magic, unknown version, reserved bits set, unsafe seq). The CRC is the caller's to check:
 * it needs the payload, which may not be in memory yet.
 */
export function readRecordHeader(view: DataView, at: number): RecordHeader | null {
  if (view.getUint32(at, true) !== RECORD_MAGIC || view.getUint8(at + 8) !== RECORD_VERSION || view.getUint8(at + 11) !== 0) {
    return null;
  }
  const seq = getU64(view, at + 16);
  if (seq === null) return null;
  return {
    crc: view.getUint32(at + 4, true),
    kind: view.getUint8(at + 9) as RecordKind,
    flags: view.getUint8(at + 10),
    payloadBytes: view.getUint32(at + 12, true),
    seq,
    receivedMs: view.getFloat64(at + 24, true),
  };
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

function getU64(view: DataView, at: number): number | null {
  const high = view.getUint32(at + 4, true);
  return high > MAX_SEQ_HIGH ? null : high * TWO_32 + view.getUint32(at, true);
}

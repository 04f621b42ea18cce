/**
 * The payload of a ring or vault record of kind `lines`: a small header naming where the
 * lines came from, then the lines exactly as received, each ending in "\n" (ingest cuts
 * records at line boundaries, so no line spans two records).
 *
 *   version u8 (1) | transport u8 (1 tcp, 2 unix) | source length u16 LE | source UTF-8 | lines
 *
 * `source` is the peer's "address:port" for TCP, and the socket path for a Unix socket
 * (whose peers have no name). Stored in rings and vault segments: never change a layout,
 * add a version.
 */
import { PoisonRecordError } from './errors';

const VERSION = 1;
const FIXED_BYTES = 4;
/** Far more than an address or a socket path needs; keeps the header small and bounded. */
export const MAX_SOURCE_BYTES = 1024;

export const LinesTransport = { Tcp: 1, Unix: 2 } as const;
export type LinesTransport = (typeof LinesTransport)[keyof typeof LinesTransport];

export interface LinesHeader {
  transport: LinesTransport;
  source: string;
  /** Where the lines start in the payload. */
  linesOffset: number;
}

export function encodeLinesHeader(transport: LinesTransport, source: string): Buffer {
  let name = Buffer.from(source, 'utf8');
  if (name.length > MAX_SOURCE_BYTES) name = name.subarray(0, MAX_SOURCE_BYTES);
  const header = Buffer.alloc(FIXED_BYTES + name.length);
  header.writeUInt8(VERSION, 0);
  header.writeUInt8(transport, 1);
  header.writeUInt16LE(name.length, 2);
  name.copy(header, FIXED_BYTES);
  return header;
}

export function decodeLinesHeader(payload: Uint8Array): LinesHeader {
  if (payload.length < FIXED_BYTES) throw new PoisonRecordError(`lines record of ${payload.length} bytes is shorter than its header`);
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const version = view.readUInt8(0);
  const transport = view.readUInt8(1);
  const sourceLength = view.readUInt16LE(2);
  if (version !== VERSION) throw new PoisonRecordError(`lines record has version ${version}; this version reads ${VERSION}`);
  if (transport !== LinesTransport.Tcp && transport !== LinesTransport.Unix) throw new PoisonRecordError(`lines record has unknown transport ${transport}`);
  if (FIXED_BYTES + sourceLength > payload.length) throw new PoisonRecordError(`lines record's source name (${sourceLength} bytes) runs past its end`);
  return { transport, source: view.toString('utf8', FIXED_BYTES, FIXED_BYTES + sourceLength), linesOffset: FIXED_BYTES + sourceLength };
}

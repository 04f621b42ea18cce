/**
 * Finds the single length-prefixed message of a unary gRPC request in the DATA chunks of an
 * HTTP/2 stream, without copying: the result is a list of views into the chunks as they were
 * received, covering exactly the message bytes (the 5-byte prefix is cut away). The size is
 * checked as soon as the prefix is complete, so an oversized message is refused before any
 * of it is held.
 *
 *   prefix: compressed flag u8 (0 or 1) | message length u32 big-endian | message
 */

const PREFIX_BYTES = 5;

export interface UnaryMessage {
  compressed: boolean;
  /** Views into the received chunks; together exactly `length` bytes. */
  chunks: Buffer[];
  length: number;
}

export type FrameProblem =
  | { kind: 'too-large'; length: number }
  | { kind: 'malformed'; reason: string };

export class GrpcUnaryFrameDecoder {
  // Only the prefix may need reassembly; it can arrive split over chunks of any size.
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixFill = 0;
  private compressed = false;
  private length = -1;
  private received = 0;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly maxMessageBytes: number,
    private readonly compressionDeclared: boolean,
  ) {}

  /** Feeds one DATA chunk; a problem means the stream is beyond repair and must be answered. */
  push(chunk: Buffer): FrameProblem | undefined {
    let offset = 0;
    if (this.length < 0) {
      const take = Math.min(PREFIX_BYTES - this.prefixFill, chunk.length);
      chunk.copy(this.prefix, this.prefixFill, 0, take);
      this.prefixFill += take;
      offset = take;
      if (this.prefixFill < PREFIX_BYTES) return undefined;
      const problem = this.readPrefix();
      if (problem !== undefined) return problem;
    }
    if (offset === chunk.length) return undefined;
    const wanted = this.length - this.received;
    if (chunk.length - offset > wanted) {
      return malformed('more than one message in a unary call');
    }
    this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset));
    this.received += chunk.length - offset;
    return undefined;
  }

  /** Called at end of stream: the message, or why there is none. */
  finish(): UnaryMessage | FrameProblem {
    if (this.prefixFill === 0) return malformed('no message in a unary call');
    if (this.prefixFill < PREFIX_BYTES) {
      return malformed(`stream ended after ${this.prefixFill} of the ${PREFIX_BYTES} prefix bytes`);
    }
    if (this.received < this.length) {
      return malformed(`stream ended after ${this.received} of ${this.length} message bytes`);
    }
    return { compressed: this.compressed, chunks: this.chunks, length: this.length };
  }

  private readPrefix(): FrameProblem | undefined {
    const flag = this.prefix[0];
    const length = this.prefix.readUInt32BE(1);
    if (flag > 1) return malformed(`compressed flag is ${flag}, expected 0 or 1`);
    if (flag === 1 && !this.compressionDeclared) {
      return malformed('compressed flag is set but grpc-encoding is identity (or absent)');
    }
    if (length > this.maxMessageBytes) return { kind: 'too-large', length };
    this.compressed = flag === 1;
    this.length = length;
    return undefined;
  }
}

function malformed(reason: string): FrameProblem {
  return { kind: 'malformed', reason: `malformed gRPC frame: ${reason}` };
}

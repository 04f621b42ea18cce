/**
 * Answers a gRPC call with an error status straight on the socket, without an HTTP/2
 * session: the server preface, a trailers-only response on the client's first stream, and
 * GOAWAY. A refused control connection then costs a small read buffer for as long as the
 * client takes to send its request, where a grpc-js session per connection cost the
 * supervisor megabytes over a thousand refusals.
 *
 * Wire facts used (RFC 9113, RFC 7541, gRPC over HTTP/2): the client preface is 24 bytes;
 * a frame header is length (24 bits), type, flags, stream id (31 bits); HEADERS is type 1,
 * SETTINGS 4, GOAWAY 7; END_STREAM 0x1 and END_HEADERS 0x4; HPACK index 8 is ":status: 200";
 * a literal field without indexing and with a new name starts with 0x00.
 */
import type { Socket } from 'node:net';

const CLIENT_PREFACE_BYTES = 24;
const FRAME_HEADER_BYTES = 9;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM_AND_HEADERS = 0x5;
const ACK = 0x1;
/** What a client may send before its first HEADERS frame is found; more and it is cut off. */
const MAX_BUFFERED_BYTES = 16 * 1024;

export function refuseGrpcCall(socket: Socket, grpcStatus: number, message: string, timeoutMs: number): void {
  let buffered = Buffer.alloc(0);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.write(Buffer.concat([frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(SETTINGS, ACK, 0, Buffer.alloc(0))]));
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const stream = firstHeadersStream(buffered);
    if (stream === null) {
      if (buffered.length > MAX_BUFFERED_BYTES) socket.destroy();
      return;
    }
    socket.off('data', onData);
    buffered = Buffer.alloc(0);
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(stream, 0);
    socket.end(Buffer.concat([frame(HEADERS, END_STREAM_AND_HEADERS, stream, trailers(grpcStatus, message)), frame(GOAWAY, 0, 0, goaway)]));
  };
  socket.on('data', onData);
}

/** The stream id of the first HEADERS frame after the client preface, or null if none is complete yet. */
function firstHeadersStream(data: Buffer): number | null {
  for (let at = CLIENT_PREFACE_BYTES; at + FRAME_HEADER_BYTES <= data.length; ) {
    const length = data.readUIntBE(at, 3);
    if (data[at + 3] === HEADERS) return data.readUInt32BE(at + 5) & 0x7fffffff;
    at += FRAME_HEADER_BYTES + length;
  }
  return null;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

function trailers(grpcStatus: number, message: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x88]),
    literal('content-type', 'application/grpc'),
    literal('grpc-status', String(grpcStatus)),
    literal('grpc-message', percentEncode(message)),
  ]);
}

function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** An HPACK string literal without Huffman coding: its length as a 7-bit-prefix integer, then the bytes. */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const length: number[] = [];
  if (bytes.length < 127) {
    length.push(bytes.length);
  } else {
    length.push(127);
    let rest = bytes.length - 127;
    while (rest >= 128) {
      length.push((rest % 128) + 128);
      rest = Math.floor(rest / 128);
    }
    length.push(rest);
  }
  return Buffer.concat([Buffer.from(length), bytes]);
}

/** grpc-message is percent-encoded: anything outside printable ASCII, and '%' itself. */
function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The load generator of `npm run bench:lines`, one process for every target: opens the
 * connections, then sends each its share of fixed-size lines as fast as the socket takes
 * them (1 MiB writes, waiting for drain), and prints when the first byte went out and when
 * the last was handed to the kernel, as one JSON line.
 *
 * Usage: node dist/bench/lines-load.js PORT LINES LINE_BYTES CONNECTIONS
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** Every line starts with it: the bench counts lines in any output format by this token. */
export const LINE_TOKEN = 'bench-line ';
const BLOCK_BYTES = 1024 * 1024;

export interface LoadResult {
  firstByteEpochMs: number;
  lastByteEpochMs: number;
  sent: number;
}

/** Whole lines filling about BLOCK_BYTES; numbered so that a reader can tell them apart in a block. */
function block(lineBytes: number): Buffer {
  const perBlock = Math.max(1, Math.floor(BLOCK_BYTES / lineBytes));
  const lines: string[] = [];
  for (let i = 0; i < perBlock; i++) {
    const head = `${LINE_TOKEN}${String(i).padStart(10, '0')} `;
    lines.push(`${head}${'x'.repeat(Math.max(0, lineBytes - head.length - 1))}\n`);
  }
  return Buffer.from(lines.join(''));
}

async function send(socket: Socket, data: Buffer, lineBytes: number, lines: number): Promise<void> {
  const perBlock = data.length / lineBytes;
  for (let left = lines; left > 0; left -= perBlock) {
    const chunk = left >= perBlock ? data : data.subarray(0, left * lineBytes);
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'finish');
}

async function main(): Promise<void> {
  const [port, lines, lineBytes, connections] = process.argv.slice(2).map(Number);
  const data = block(lineBytes);
  const sockets = await Promise.all(
    Array.from({ length: connections }, async () => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      await once(socket, 'connect');
      return socket;
    }),
  );
  const firstByteEpochMs = Date.now();
  const share = Math.floor(lines / connections);
  await Promise.all(sockets.map((s, i) => send(s, data, lineBytes, i === 0 ? lines - share * (connections - 1) : share)));
  const result: LoadResult = { firstByteEpochMs, lastByteEpochMs: Date.now(), sent: lines };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await Promise.all(sockets.map((s) => (s.closed ? undefined : once(s, 'close'))));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

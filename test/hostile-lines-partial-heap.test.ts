import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LineFramer } from '../src/ingest/lines-framer';

// The collector, without a flag on the whole test run: V8 reads --expose-gc when a context is made.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MAX_LINE = 64 * 1024;
const CONNECTIONS = 40;
const PARTIAL_BYTES = 48 * 1024;

/** Heap and ArrayBuffer memory after a full collection: what is really held. */
function held(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

test('a partial line sent a byte per segment costs at most twice its bytes, not a Buffer per byte', (t) => {
  const header = Buffer.from('header');
  const framers: LineFramer[] = [];
  const before = held();
  for (let c = 0; c < CONNECTIONS; c++) {
    const framer = new LineFramer(header, MAX_LINE, 'split');
    // Each segment is its own allocation, as every socket read of one byte is.
    for (let i = 0; i < PARTIAL_BYTES; i++) t.is(framer.push(Buffer.alloc(1, 0x61)).bytes, 0);
    framers.push(framer);
  }
  const cost = held() - before;
  const bytes = CONNECTIONS * PARTIAL_BYTES;
  t.true(framers.every((f) => f.pendingBytes === PARTIAL_BYTES));
  t.true(cost <= 2 * bytes, `${CONNECTIONS} partial lines of ${PARTIAL_BYTES} bytes hold ${(cost / bytes).toFixed(2)} bytes of memory per byte`);
  // And the line is whole when it ends.
  const record = framers[0].push(Buffer.from('b\n'));
  t.is(Buffer.concat(record.segments.slice(1)).toString(), `${'a'.repeat(PARTIAL_BYTES)}b\n`);
});

test('a record keeps its partial line when the next partial line starts in the same read', (t) => {
  const framer = new LineFramer(Buffer.from('h'), MAX_LINE, 'split');
  framer.push(Buffer.from('first hal'));
  const record = framer.push(Buffer.from('f\nsecond half'));
  // The record is read after the framer kept "second half": it must not have been overwritten.
  t.is(Buffer.concat(record.segments.slice(1)).toString(), 'first half\n');
  t.is(framer.pendingBytes, 'second half'.length);
  t.is(Buffer.concat(framer.finish().segments.slice(1)).toString(), 'second half\n');
});

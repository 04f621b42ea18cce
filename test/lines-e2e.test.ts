import test from 'ava';
import { startEngine } from './helpers/engine';
import { readLinesOutput, sendLines, type LinesTarget } from './helpers/lines';
import { scrapeUntil, valueOf, type Scrape } from './helpers/metrics';

const CONNECTIONS_PER_TRANSPORT = 40;
const LINES_PER_CONNECTION = 250;

/** A connection's lines cut into writes of uneven sizes, so that lines straddle reads. */
function* unevenWrites(text: string, seed: number): Generator<string> {
  let state = seed;
  for (let at = 0; at < text.length; ) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (state % 700);
    yield text.slice(at, at + size);
    at += size;
  }
}

test('lines from many concurrent TCP and Unix connections each arrive once; the last partial line of a connection too', async (t) => {
  const engine = await startEngine({ ingest: { lines: { max_line_bytes: 1024, long_lines: 'split' } } });
  t.teardown(() => engine.cleanup());
  const targets: Array<[string, LinesTarget]> = [
    ['tcp', { port: engine.linesPort }],
    ['unix', { path: engine.linesSocket }],
  ];
  const expected: string[] = [];
  let sentBytes = 0;
  const sends: Array<Promise<void>> = [];
  for (const [name, target] of targets) {
    for (let c = 0; c < CONNECTIONS_PER_TRANSPORT; c++) {
      const lines = Array.from({ length: LINES_PER_CONNECTION }, (_, i) => `${name}-${c}-${i} some text "quoted" \\ tab\there`);
      expected.push(...lines);
      // CRLF endings on every other connection; no newline after the last line.
      const text = lines.join(c % 2 === 0 ? '\n' : '\r\n');
      sentBytes += Buffer.byteLength(text);
      sends.push(sendLines(target, unevenWrites(text, c + 1)));
    }
  }
  await Promise.all(sends);
  const connections = 2 * CONNECTIONS_PER_TRANSPORT;
  const stored = (s: Scrape): number => valueOf(s, 'gophership_ingest_accepted_bytes_total', { protocol: 'lines' }) ?? 0;
  const scrape = await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_lines_connections_total') === connections && stored(s) >= sentBytes);
  // Each connection's last line came without a newline; the receiver ends it with one.
  t.true(stored(scrape) <= sentBytes + connections, `line bytes stored ${stored(scrape)}, sent ${sentBytes}`);
  t.true((valueOf(scrape, 'gophership_ingest_accepted_requests_total', { protocol: 'lines' }) ?? 0) >= connections, 'at least a record per connection');
  t.is(valueOf(scrape, 'gophership_ingest_lines_lost_bytes_total'), 0);
  t.is(await engine.stop(), 0);

  const output = readLinesOutput(engine.outputPath);
  const wrong = expected.filter((line) => output.bodies.get(line) !== 1);
  t.deepEqual(wrong.slice(0, 10), [], 'every line is a log record exactly once');
  t.is(output.bodies.size, expected.length);
  t.true((output.sources.get('tcp') ?? 0) > 0 && (output.sources.get('unix') ?? 0) > 0, 'records name their transport');
});

test('a line longer than max_line_bytes is split into lines of max_line_bytes under long_lines: split', async (t) => {
  const engine = await startEngine({ ingest: { workers: 1, lines: { max_line_bytes: 1000, long_lines: 'split' } } });
  t.teardown(() => engine.cleanup());
  const long = Array.from({ length: 3500 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  await sendLines({ port: engine.linesPort }, ['before\n', long.slice(0, 1700), long.slice(1700), '\nafter\n']);
  const scrape = await scrapeUntil(engine.metricsPort, (s) => valueOf(s, 'gophership_ingest_lines_connections_total') === 1 && valueOf(s, 'gophership_ingest_lines_long_lines_total') !== 0);
  t.is(valueOf(scrape, 'gophership_ingest_lines_long_lines_total'), 1, 'one long line, counted once however many pieces it was cut into');
  t.is(await engine.stop(), 0);
  const { bodies } = readLinesOutput(engine.outputPath);
  t.deepEqual(
    [...bodies.keys()].sort(),
    ['after', 'before', long.slice(0, 1000), long.slice(1000, 2000), long.slice(2000, 3000), long.slice(3000)].sort(),
  );
});

import test from 'ava';
import { LineFramer, type LongLinePolicy } from '../src/ingest/lines-framer';

const HEADER = Buffer.from('H');

/** What the framer must produce: every line (the last one even without "\n") cut by the policy. */
function reference(text: string, max: number, policy: LongLinePolicy): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  for (const line of lines) {
    if (line.length <= max) out.push(line);
    else if (policy === 'truncate') out.push(line.slice(0, max));
    else for (let at = 0; at < line.length; at += max) out.push(line.slice(at, at + max));
  }
  return out.map((l) => `${l}\n`).join('');
}

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

for (const policy of ['split', 'truncate'] as const) {
  test(`any cutting of the stream into reads yields the same lines (${policy})`, (t) => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = random(seed);
      const max = 1 + Math.floor(rand() * 40);
      let text = '';
      while (text.length < 2000) text += rand() < 0.15 ? '\n' : String.fromCharCode(97 + Math.floor(rand() * 26));
      const framer = new LineFramer(HEADER, max, policy);
      let out = '';
      const take = (record: { segments: readonly Buffer[]; bytes: number }): void => {
        if (record.bytes === 0) return;
        t.is(record.segments[0], HEADER);
        const bytes = Buffer.concat(record.segments.slice(1));
        t.is(bytes.length + HEADER.length, record.bytes);
        t.is(bytes[bytes.length - 1], 0x0a, 'a record ends at a line boundary');
        out += bytes.toString();
      };
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(rand() * 3 * max);
        take(framer.push(Buffer.from(text.slice(at, at + size))));
        at += size;
      }
      take(framer.finish());
      if (out !== reference(text, max, policy)) return t.fail(`seed ${seed}: max ${max}, output differs from the reference`);
    }
  });
}

test('each line longer than the maximum is counted once', (t) => {
  const framer = new LineFramer(HEADER, 4, 'split');
  framer.push(Buffer.from('0123456789\nab\n0123'));
  framer.push(Buffer.from('45\n'));
  t.is(framer.longLines, 2);
});

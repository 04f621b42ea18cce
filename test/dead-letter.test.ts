import test from 'ava';
import { setLogLevel } from '../src/common/log';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoisonRecordError } from '../src/common/errors';
import { RecordKind } from '../src/common/record-kind';
import { DeadLetter } from '../src/export/dead-letter';

// Rotation logs a line per rotation; this file rotates hundreds of times on purpose.
setLogLevel('warn');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gs-dead-letter-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Line {
  time: string;
  reason: string;
  code: string | null;
  message: string;
  kind: number;
  source: string;
  bytes: number;
  payload_base64: string;
  flags: number;
}

function readLines(path: string): Line[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length !== 0)
    .map((l) => JSON.parse(l) as Line);
}

test('one JSON line per record, whose base64 payload decodes back to the original bytes', (t) => {
  const path = join(tempDir(t), 'dl', 'dead-letter.jsonl');
  const deadLetter = new DeadLetter({ path, maxBytes: 1024 * 1024, maxFiles: 2 });

  // A view into a larger buffer, as ring payloads are: only the view's bytes may be written.
  const backing = randomBytes(4096);
  const payloads = [backing.subarray(100, 1100), new Uint8Array(0), Uint8Array.from([0x0a, 0xff, 0x00, 0xfe])];
  const errors: unknown[] = [
    new PoisonRecordError('malformed ExportLogsServiceRequest', new RangeError('index out of range')),
    Object.assign(new Error('no space'), { code: 'ENOSPC' }),
    'a thrown string',
  ];
  const before = Date.now();
  payloads.forEach((payload, i) => {
    deadLetter.record({ reason: 'undecodable', error: errors[i], kind: RecordKind.OtlpGrpc, flags: i % 2, source: `green-${i}`, payload });
    t.is(deadLetter.count, i + 1);
  });
  deadLetter.close();

  const written = readLines(path);
  t.is(written.length, 3);
  written.forEach((entry, i) => {
    t.deepEqual(new Uint8Array(Buffer.from(entry.payload_base64, 'base64')), new Uint8Array(payloads[i]));
    t.is(entry.bytes, payloads[i].byteLength);
    t.is(entry.reason, 'undecodable');
    t.is(entry.kind, RecordKind.OtlpGrpc);
    t.is(entry.flags, i % 2);
    t.is(entry.source, `green-${i}`);
    t.true(Date.parse(entry.time) >= before - 1000);
  });
  t.deepEqual(
    written.map((e) => [e.code, e.message]),
    [
      ['GS_POISON_RECORD', 'malformed ExportLogsServiceRequest'],
      ['ENOSPC', 'no space'],
      [null, 'a thrown string'],
    ],
  );
});

test('rotation bounds the disk a stream of poison can take', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'dead-letter.jsonl');
  const deadLetter = new DeadLetter({ path, maxBytes: 4096, maxFiles: 2 });
  const payload = randomBytes(1000);
  for (let i = 0; i < 50; i++) {
    deadLetter.record({ reason: 'undecodable', error: new PoisonRecordError(`bad ${i}`), kind: RecordKind.OtlpHttpProto, flags: 0, source: 'green-0', payload });
  }
  deadLetter.close();

  t.is(deadLetter.count, 50);
  t.deepEqual(readdirSync(dir).sort(), ['dead-letter.jsonl', 'dead-letter.jsonl.1', 'dead-letter.jsonl.2']);
  t.false(existsSync(`${path}.3`));
  // The newest records survive, each line complete and still replayable.
  const newest = readLines(path);
  t.is(newest[newest.length - 1].message, 'bad 49');
  for (const entry of [...readLines(`${path}.2`), ...readLines(`${path}.1`), ...newest]) {
    t.true(Buffer.from(entry.payload_base64, 'base64').equals(payload));
  }
});

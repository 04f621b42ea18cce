import test from 'ava';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../src/common/errors';
import { crc32c, crc32cSoftware } from '../src/common/native';

const IMPLEMENTATIONS = [
  ['crc32c', crc32c],
  ['crc32cSoftware', crc32cSoftware],
] as const;

for (const [name, crc] of IMPLEMENTATIONS) {
  test(`${name} matches the published check values`, (t) => {
    t.is(crc(Buffer.from('123456789')), 0xe3069283);
    // iSCSI test vectors (RFC 3720, B.4).
    t.is(crc(new Uint8Array(32)), 0x8a9136aa);
    t.is(crc(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    t.is(crc(new Uint8Array(0)), 0);
  });

  test(`${name} continues from a seed: crc(b, crc(a)) equals crc(a + b)`, (t) => {
    const data = randomBytes(10_007);
    const whole = crc(data);
    for (const split of [0, 1, 7, 8, 9, 4096, 5003, 10_007]) {
      t.is(crc(data.subarray(split), crc(data.subarray(0, split))), whole, `split at ${split}`);
    }
  });
}

test('the hardware and table implementations agree on every length and alignment', (t) => {
  const data = randomBytes(300);
  const mismatches = [];
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end++) {
      const slice = data.subarray(start, end);
      if (crc32c(slice, 0x1234) !== crc32cSoftware(slice, 0x1234)) mismatches.push(`${start}..${end}`);
    }
  }
  t.deepEqual(mismatches, []);
});

test('a seed that is not an unsigned 32-bit integer is refused', (t) => {
  t.throws(() => crc32c(new Uint8Array(1), -1), {
    instanceOf: InvalidArgumentError,
    message: 'Expected an integer from 0 to 4294967295 for seed but received number -1',
  });
  t.throws(() => crc32c('abc' as unknown as Uint8Array), {
    instanceOf: InvalidArgumentError,
    message: 'Expected a Uint8Array for buf but received "abc"',
  });
});

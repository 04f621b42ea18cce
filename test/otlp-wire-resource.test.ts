import test from 'ava';
import { PoisonRecordError } from '../src/common/errors';
import { ExportLogsServiceRequest } from '../src/common/otlp-proto';
import { ResourceSplicer } from '../src/common/otlp-wire-resource';
import { encodeAttribute, type AttributeValue } from '../src/export/enrichment';
import { randomRequest } from './fixtures/otlp-requests';
import { seededRandom } from './fixtures/vault-records';

const root = ExportLogsServiceRequest.root;
const Resource = root.lookupType('opentelemetry.proto.resource.v1.Resource');
const KeyValue = root.lookupType('opentelemetry.proto.common.v1.KeyValue');

const ADDED: Array<[string, AttributeValue]> = [
  ['host.name', 'node-7'],
  ['k8s.pod.name', 'app-5d9f'],
  ['service.instance.id', '0b0c5f9e-0000-5000-8000-000000000001'],
  ['gophership.hop', 2],
  ['gophership.enriched', true],
];

interface DecodedRl {
  resource: { attributes: Array<{ key: string }> } | null;
}

/** What a decode-modify-encode with protobufjs produces: the reference. */
function reference(input: Uint8Array, override: boolean): Uint8Array {
  const request = ExportLogsServiceRequest.decode(input) as unknown as { resourceLogs: DecodedRl[] };
  for (const rl of request.resourceLogs) {
    rl.resource ??= Resource.create({ attributes: [] }) as unknown as DecodedRl['resource'];
    const keys = new Set(ADDED.map(([k]) => k));
    if (override) rl.resource!.attributes = rl.resource!.attributes.filter((a) => !keys.has(a.key));
    const present = new Set(rl.resource!.attributes.map((a) => a.key));
    for (const [key, value] of ADDED) {
      if (!override && present.has(key)) continue;
      const field = encodeAttribute(key, value).field;
      rl.resource!.attributes.push(KeyValue.decode(field.subarray(2)) as unknown as { key: string });
    }
  }
  return ExportLogsServiceRequest.encode(request as never).finish();
}

function decoded(bytes: Uint8Array): unknown {
  return ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(bytes), { longs: String, bytes: String });
}

for (const override of [false, true]) {
  test(`splicing matches protobufjs decode-modify-encode on 600 seeded random requests (override: ${override})`, (t) => {
    const splicer = new ResourceSplicer(ADDED.map(([k, v]) => encodeAttribute(k, v)), override);
    let canonicalSame = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const random = seededRandom(seed);
      const canonical = seed % 2 === 0;
      const { bytes, markers } = randomRequest(random, canonical);
      const spliced = splicer.splice(bytes);
      const expected = reference(bytes, override);
      t.deepEqual(decoded(spliced), decoded(expected), `seed ${seed}`);
      if (canonical) {
        t.true(Buffer.from(spliced).equals(Buffer.from(expected)), `seed ${seed}: canonical input gives protobufjs's bytes`);
        canonicalSame++;
      }
      for (const marker of markers) t.true(Buffer.from(spliced).includes(Buffer.from(marker)), `seed ${seed}: unknown field kept`);
    }
    t.is(canonicalSame, 300);
  });
}

test('a request whose resources already carry every attribute comes back as the same buffer', (t) => {
  const splicer = new ResourceSplicer([encodeAttribute('host.name', 'a')], false);
  const request = ExportLogsServiceRequest.encode({
    resourceLogs: [{ resource: { attributes: [{ key: 'host.name', value: { stringValue: 'b' } }] }, scopeLogs: [] }],
  } as never).finish();
  t.is(splicer.splice(request), request);
  t.is(new ResourceSplicer([], true).splice(request), request);
});

test('a truncated request is poison, named as malformed', (t) => {
  const splicer = new ResourceSplicer([encodeAttribute('host.name', 'a')], false);
  const bytes = ExportLogsServiceRequest.encode({ resourceLogs: [{ resource: { attributes: [{ key: 'k', value: { stringValue: 'v' } }] } }] } as never).finish();
  const error = t.throws(() => splicer.splice(bytes.subarray(0, bytes.length - 3)), { instanceOf: PoisonRecordError });
  t.regex(error!.message, /malformed ExportLogsServiceRequest/);
});

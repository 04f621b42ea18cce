import test from 'ava';
import { countIds } from './helpers/output';
import { startEngine } from './helpers/engine';
import { httpSdkSender } from './helpers/otlp-http';

const PER_ENCODING = 20_000;

test('the OTel SDK sends 20,000 records as protobuf and 20,000 as JSON over OTLP/HTTP; each arrives exactly once', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const proto = httpSdkSender(engine.httpPort, 'proto');
  const json = httpSdkSender(engine.httpPort, 'json');
  for (let i = 0; i < PER_ENCODING; i++) {
    proto.emit(`proto-${i}`);
    json.emit(`json-${i}`);
  }
  const [viaProto, viaJson] = await Promise.all([proto.flush(), json.flush()]);
  await Promise.all([proto.shutdown(), json.shutdown()]);
  t.deepEqual(viaProto, { delivered: PER_ENCODING, failed: 0 });
  t.deepEqual(viaJson, { delivered: PER_ENCODING, failed: 0 });

  t.is(await engine.stop(), 0);
  const counts = countIds(engine.outputPath);
  const wrong = [];
  for (const prefix of ['proto', 'json']) {
    for (let i = 0; i < PER_ENCODING; i++) {
      const n = counts.get(`${prefix}-${i}`) ?? 0;
      if (n !== 1) wrong.push(`${prefix}-${i}: ${n}`);
    }
  }
  t.deepEqual(wrong.slice(0, 10), [], 'every record is in the output exactly once');
  t.is(counts.size, 2 * PER_ENCODING);
});

test('gzip-compressed OTLP/HTTP bodies from the SDK, protobuf and JSON, arrive exactly once', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const senders = { proto: httpSdkSender(engine.httpPort, 'proto', { gzip: true }), json: httpSdkSender(engine.httpPort, 'json', { gzip: true }) };
  const total = 2000;
  for (let i = 0; i < total; i++) {
    senders.proto.emit(`gz-proto-${i}`);
    senders.json.emit(`gz-json-${i}`);
  }
  for (const sender of Object.values(senders)) {
    t.deepEqual(await sender.flush(), { delivered: total, failed: 0 });
    await sender.shutdown();
  }
  t.is(await engine.stop(), 0);
  const counts = countIds(engine.outputPath);
  t.is(counts.size, 2 * total);
  t.true([...counts.values()].every((n) => n === 1));
});

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExportLogsServiceResponse, Status } from '../src/common/otlp-proto';
import { httpDownstream, idsOf, resourceAttributes } from './helpers/downstream';
import { startEngine } from './helpers/engine';
import { sdkSender, sendRecords } from './helpers/otel-sdk';

const exporter = (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'otlp_http',
  endpoint: `http://127.0.0.1:${port}`,
  retry: { initial_ms: 20, max_ms: 100 },
  batch: { delay_ms: 0 },
  ...extra,
});

test('a 503 with Retry-After: 2 is retried after two seconds, then delivered once, enriched', async (t) => {
  const downstream = await httpDownstream((i, _req, res) => {
    if (i === 0) {
      res.writeHead(503, { 'retry-after': '2', 'content-type': 'text/plain' }).end('busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(ExportLogsServiceResponse.encode({}).finish());
  });
  t.teardown(() => downstream.close());
  const engine = await startEngine({ exporters: [exporter(downstream.port, { compression: 'gzip' })], enrich: { attributes: { 'deployment.environment': 'test' } } });
  t.teardown(() => engine.cleanup());

  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'h', 100), { delivered: 100, failed: 0 });

  const [refused, accepted] = await downstream.arrived(2);
  const waited = accepted.atMs - refused.atMs;
  t.true(waited >= 1950 && waited < 4000, `the retry came ${waited} ms after the 503`);
  const retry = await engine.waitForLog((l) => l.msg === 'downstream unavailable; will retry');
  t.like(retry, { retryInMs: 2000, serverDelay: true });
  t.deepEqual(idsOf([accepted]), idsOf([refused]), 'the same records are sent again');
  t.is(await engine.stop(), 0);
  t.is(downstream.arrivals.length, 2, 'nothing is sent again after the 200');
  t.deepEqual(idsOf([accepted]).sort(), Array.from({ length: 100 }, (_, i) => `h-${i}`).sort());
  const attributes = resourceAttributes(accepted.request);
  t.is(attributes['service.name'], 'gophership-test', 'the producer attributes are kept');
  t.is(attributes['deployment.environment'], 'test');
  t.is(typeof attributes['host.name'], 'string');
  t.regex(String(attributes['service.instance.id']), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('a 400 is not retried: the request goes to the dead-letter file with the status, and later records still flow', async (t) => {
  const downstream = await httpDownstream((i, _req, res) => {
    if (i === 0) {
      res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(Status.encode({ code: 3, message: 'bad attribute' }).finish());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(
      ExportLogsServiceResponse.encode({ partialSuccess: { rejectedLogRecords: 3, errorMessage: 'three too old' } }).finish(),
    );
  });
  t.teardown(() => downstream.close());
  const engine = await startEngine({ exporters: [exporter(downstream.port)] });
  t.teardown(() => engine.cleanup());

  const sender = sdkSender(`http://127.0.0.1:${engine.grpcPort}`);
  for (let i = 0; i < 10; i++) sender.emit(`bad-${i}`);
  t.deepEqual(await sender.flush(), { delivered: 10, failed: 0 });
  await downstream.arrived(1);
  for (let i = 0; i < 10; i++) sender.emit(`good-${i}`);
  t.deepEqual(await sender.flush(), { delivered: 20, failed: 0 });
  await sender.shutdown();

  const partial = await engine.waitForLog((l) => l.msg === 'downstream accepted a request in part');
  t.like(partial, { code: 'GS_EXPORT_PARTIAL', rejectedLogRecords: 3, message: 'three too old', exporter: 'otlp_http[0]' });
  t.is(await engine.stop(), 0);
  t.is(downstream.arrivals.length, 2, 'the 400 is not retried');
  const [line] = readFileSync(join(engine.dir, 'dead-letter.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.like(line, { reason: 'rejected', code: 'GS_EXPORT_REJECTED' });
  t.regex(line.message, /^HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/v1\/logs: bad attribute$/);
  t.deepEqual(Buffer.from(line.payload_base64, 'base64'), downstream.arrivals[0].raw, 'the refused request is kept byte for byte');
  t.deepEqual(idsOf([downstream.arrivals[1]]).sort(), Array.from({ length: 10 }, (_, i) => `good-${i}`).sort());
});

test('encoding: json posts OTLP/JSON with its content type, and reads a JSON partial success', async (t) => {
  let path: string | undefined;
  const downstream = await httpDownstream((_i, req, res) => {
    path = req.url;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedLogRecords: '2', errorMessage: 'two dropped' } }));
  });
  t.teardown(() => downstream.close());
  const engine = await startEngine({ exporters: [exporter(downstream.port, { encoding: 'json', endpoint: `http://127.0.0.1:${downstream.port}/custom/path` })] });
  t.teardown(() => engine.cleanup());

  t.deepEqual(await sendRecords(`http://127.0.0.1:${engine.grpcPort}`, 'j', 5), { delivered: 5, failed: 0 });
  const [arrival] = await downstream.arrived(1);
  t.like(await engine.waitForLog((l) => l.msg === 'downstream accepted a request in part'), { rejectedLogRecords: 2, message: 'two dropped' });
  t.is(await engine.stop(), 0);
  t.is(arrival.contentType, 'application/json');
  t.is(path, '/custom/path', 'an endpoint with a path is used as it is');
  const body = JSON.parse(arrival.raw.toString('utf8')) as { resourceLogs: Array<{ resource: { attributes: Array<{ key: string }> }; scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { stringValue: string } }> }> }> }> };
  const ids = body.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => r.attributes.find((a) => a.key === 'test.id')!.value.stringValue)));
  t.deepEqual(ids.sort(), ['j-0', 'j-1', 'j-2', 'j-3', 'j-4']);
  t.true(body.resourceLogs[0].resource.attributes.some((a) => a.key === 'host.name'), 'enriched before being written as JSON');
});

import test from 'ava';
import { hostname } from 'node:os';
import { ExportLogsServiceResponse } from '../src/common/otlp-proto';
import { grpcDownstream, resourceAttributes } from './helpers/downstream';
import { startEngine } from './helpers/engine';
import { sendLines } from './helpers/lines';

const OK = { response: Buffer.from(ExportLogsServiceResponse.encode({}).finish()) };

test('lines forwarded over OTLP/gRPC arrive once each, with their peer and the enrichment on the resource', async (t) => {
  const downstream = await grpcDownstream(() => OK);
  t.teardown(() => downstream.close());
  const engine = await startEngine({
    enrich: { attributes: { team: 'payments' } },
    exporters: [{ type: 'otlp_grpc', endpoint: `127.0.0.1:${downstream.port}`, batch: { delay_ms: 0 } }],
  });
  t.teardown(() => engine.cleanup());

  const sent: string[] = [];
  const sends: Array<Promise<void>> = [];
  for (let c = 0; c < 4; c++) {
    const lines = Array.from({ length: 500 }, (_, i) => `conn-${c} line-${i} "quoted" é`);
    sent.push(...lines);
    sends.push(sendLines({ port: engine.linesPort }, [`${lines.join('\r\n')}\n`]));
  }
  await Promise.all(sends);
  const startedMs = Date.now();
  t.is(await engine.stop(), 0, 'stopping drains the green rings to the downstream');

  const bodies = new Map<string, number>();
  const scopes = new Set<string | undefined>();
  const observedMs: number[] = [];
  for (const { request } of downstream.arrivals) {
    for (const [i, rl] of request.resourceLogs.entries()) {
      t.like(resourceAttributes(request, i), { 'gophership.receiver': 'lines', 'network.transport': 'tcp', 'network.peer.address': '127.0.0.1', 'host.name': hostname(), team: 'payments' });
      for (const sl of rl.scopeLogs) {
        scopes.add(sl.scope?.name);
        for (const record of sl.logRecords) {
          bodies.set(record.body!.stringValue, (bodies.get(record.body!.stringValue) ?? 0) + 1);
          observedMs.push(Number(BigInt(record.observedTimeUnixNano.toString()) / 1_000_000n));
        }
      }
    }
  }
  t.deepEqual([...scopes], ['gophership/lines']);
  t.true(Math.min(...observedMs) > startedMs - 60_000 && Math.max(...observedMs) <= Date.now(), 'observed times are the receive times');
  t.deepEqual(sent.filter((line) => bodies.get(line) !== 1).slice(0, 10), [], 'every line arrives exactly once, CR dropped');
  t.is(bodies.size, sent.length);
});

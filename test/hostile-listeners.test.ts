/**
 * A second engine of the same uid on the same ports: SO_REUSEPORT would let its workers
 * join the first engine's port group and silently take part of its traffic. The start
 * must be refused instead, naming the address and who holds it.
 */
import test from 'ava';
import { join } from 'node:path';
import { scratchDir, startEngine } from './helpers/engine';
import { startThatFails } from './helpers/hostile';
import { rmSync } from 'node:fs';

test('a second engine with another data_dir on the same listen addresses is refused with GS_LISTEN_FAILED naming the holder', async (t) => {
  const first = await startEngine({ ingest: { workers: 2 } });
  t.teardown(() => first.cleanup());
  const workers = [await first.childPid('ingest-0'), await first.childPid('ingest-1')];

  const dir = scratchDir('test-hostile-listeners-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const second = await startThatFails(join(dir, 'gophership.yaml'), {
    data_dir: dir,
    ingest: {
      otlp_grpc: { listen: [`127.0.0.1:${first.grpcPort}`] },
      otlp_http: { listen: [`127.0.0.1:${first.httpPort}`] },
      lines: { listen: [`127.0.0.1:${first.linesPort}`] },
    },
    metrics: { enabled: false },
  });
  t.is(second.code, 1);
  t.regex(second.failed, /"code":"GS_LISTEN_FAILED"/);
  t.true(second.failed.includes(`cannot listen on 127.0.0.1:${first.grpcPort} (ingest.otlp_grpc.listen)`), second.failed);
  const holder = /held by pid (\d+) \(([^)]*)\)/.exec(second.failed);
  t.truthy(holder, 'the holder is named');
  t.true(workers.includes(Number(holder![1])), `pid ${holder![1]} is one of the first engine's ingest workers ${workers.join(', ')}`);
  t.regex(holder![2], /ingest\/main\.js/);
  t.notRegex(second.stderr, /draining|"msg":"child ready"/, 'nothing was forked, and nothing is said about draining');
  t.notRegex(second.stderr, /"msg":"stopping/);

  // The first engine still has the port to itself and serves.
  t.is(await first.stop(), 0);
});

import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { GOPHERSHIP, startEngine } from './helpers/engine';

test('a second engine on the same data_dir refuses to start and leaves the first one alone', async (t) => {
  const engine = await startEngine();
  t.teardown(() => engine.cleanup());
  const second = spawn(process.execPath, [GOPHERSHIP, 'run', '--config', engine.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  second.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = await once(second, 'exit');
  t.is(code, 1);
  t.regex(stderr, /"code":"GS_ENGINE_RUNNING"/);
  t.true(stderr.includes(`another GopherShip (pid ${engine.process.pid}) runs with this data_dir`), 'names the running engine');
  t.is(engine.process.exitCode, null, 'the first engine still runs');
  t.is(await engine.stop(), 0);
});

/** `gs-ctl drain`: stop ingest, flush the rings, report, and let the engine exit. */
import { Command } from 'clipanion';
import type { DrainReportMessage } from '../common/control-proto';
import { EXIT } from './control-client';
import { EXIT_CODES_HELP, EngineCommand } from './engine-command';

export class DrainCommand extends EngineCommand {
  static override paths = [['drain']];
  static override usage = Command.Usage({
    description: 'Stop accepting, flush the rings to the exporters and the vault, report, and stop the engine.',
    details: `
      The engine does what SIGTERM does, and answers before it exits: ingest workers stop
      accepting (GOAWAY) and finish the requests in flight, then the exporters and the vault
      empty the rings and exit, then the engine exits 0. The report gives the bytes still in
      each ring (0 when everything was flushed; a failing exporter or a full vault leaves
      bytes there, kept for the next start) and how long it took. The engine does not stay
      up drained: a service manager sees a clean stop (restart it with Restart=on-failure,
      not Restart=always, if it should stay down).

      It can take up to twice \`supervisor.shutdown_timeout_ms\`; the default --timeout here
      is 120 seconds.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Drain the engine of the default data_dir', '$0 drain'],
      ['Drain and keep the report as JSON', '$0 drain --config /etc/gophership/gophership.yaml --json'],
    ],
  });

  async execute(): Promise<number> {
    this.timeout ??= '120';
    return this.withEngine(async (engine, timeoutMs) => {
      const r = await engine.call<DrainReportMessage>('Drain', {}, timeoutMs);
      const left = r.rings.filter((ring) => ring.used_bytes > 0).map((ring) => `  ${ring.name}: ${ring.used_bytes} bytes`);
      this.print(r, `drained in ${(r.took_ms / 1000).toFixed(1)}s; ${r.ring_bytes_left === 0 ? 'every ring is empty' : `${r.ring_bytes_left} bytes left in the rings, exported at the next start:\n${left.join('\n')}`}; the engine is exiting\n`);
      return EXIT.OK;
    });
  }
}

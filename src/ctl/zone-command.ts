/** `gs-ctl zone MODE`: pin the zone, or hand it back to the pressure monitor. */
import { Command, Option } from 'clipanion';
import type { ZoneStatusMessage } from '../common/control-proto';
import { ZONE_MODES } from '../common/zone-cell';
import { EXIT } from './control-client';
import { EXIT_CODES_HELP, EngineCommand } from './engine-command';
import { formatZone } from './status-command';


export class ZoneCommand extends EngineCommand {
  static override paths = [['zone']];
  static override usage = Command.Usage({
    description: 'Pin the zone (green, yellow, red) or let the pressure monitor decide (auto).',
    details: `
      \`red\` sends every request to the vault (a drill, or relief for a struggling
      downstream); \`green\` keeps the full path whatever the pressure (the per-request
      reflex still sends a request that does not fit in its green ring to the vault);
      \`yellow\` throttles maintenance such as replay. A pinned zone holds until \`auto\`
      or a restart. Prints the zone status after the change. Fails with exit 1 when the
      engine runs no pressure monitor.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Send everything to the vault', '$0 zone red'],
      ['Back to automatic', '$0 zone auto'],
    ],
  });

  mode = Option.String({ name: 'green|yellow|red|auto' });

  async execute(): Promise<number> {
    if (!(ZONE_MODES as readonly string[]).includes(this.mode)) return this.usageError(`the zone is one of ${ZONE_MODES.join(', ')}, not ${this.mode}`);
    return this.withEngine(async (engine, timeoutMs) => {
      const z = await engine.call<ZoneStatusMessage>('SetZone', { mode: this.mode }, timeoutMs);
      this.print(z, `${formatZone(z)}\n`);
      return EXIT.OK;
    });
  }
}

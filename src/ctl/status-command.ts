/** `gs-ctl status`: the running engine at a glance. */
import { Command } from 'clipanion';
import type { EngineStatusMessage, ZoneStatusMessage } from '../common/control-proto';
import { EXIT } from './control-client';
import { EXIT_CODES_HELP, EngineCommand } from './engine-command';

export class StatusCommand extends EngineCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({
    description: 'Show the running engine: zone, children, rings, vault, replay and exporters.',
    details: `
      Asks the engine's control plane. Shows the zone with its pressure inputs and
      thresholds (or why there is none), each child's pid, uptime and restarts, the fill of
      every ring, the vault's bytes and records not yet replayed, the online replay, and each
      exporter's backlog (bytes in its green rings, and for export-0 the replay ring) and
      its last error. \`--json\` prints the EngineStatus message of
      proto/gophership/control/v1/control.proto, snake_case.
      ${EXIT_CODES_HELP}
    `,
    examples: [
      ['Status of the engine on the default data_dir', '$0 status'],
      ['Status of the engine of a configuration file, as JSON', '$0 status --config /etc/gophership/gophership.yaml --json'],
      ['Over mTLS TCP', '$0 status --tls --cert client.crt --key client.key --ca ca.crt --addr localhost:9092'],
    ],
  });

  async execute(): Promise<number> {
    return this.withEngine(async (engine, timeoutMs) => {
      const s = await engine.call<EngineStatusMessage>('GetStatus', {}, timeoutMs);
      this.print(s, formatStatus(s));
      return EXIT.OK;
    });
  }
}

function formatStatus(s: EngineStatusMessage): string {
  const lines = [`engine ${s.version}, pid ${s.pid}, up ${duration(s.uptime_ms)}${s.draining ? ', DRAINING' : ''}`];
  lines.push(s.zone ? formatZone(s.zone) : `zone: ${s.zone_error}`);
  lines.push(...formatMemory(s.memory));
  lines.push('children:');
  for (const c of s.children) lines.push(`  ${c.name.padEnd(10)} ${c.pid === 0 ? 'not running' : `pid ${c.pid}, up ${duration(c.uptime_ms)}`}, ${c.restarts} restarts`);
  lines.push('rings:');
  for (const r of s.rings) lines.push(`  ${r.name.padEnd(10)} ${percent(r.used_bytes / r.capacity_bytes)} of ${bytes(r.capacity_bytes)} (${r.used_bytes} bytes)`);
  // A vault record is one request as ingest received it (a run of lines for the lines
  // receiver), not a log record: the replay rate and vault.replay_records_per_second count those.
  lines.push(`vault: ${bytes(s.vault.bytes)}, ${s.vault.records} requests not replayed (${s.vault.dir})`);
  const r = s.replay;
  lines.push(`replay: ${r.state}${r.state === 'idle' ? '' : `, ${r.records} requests, ${bytes(r.bytes)}, cursor ${r.cursor}, ${Math.round(r.records_per_second)} requests/s (vault records, limited by vault.replay_records_per_second)`}${r.error ? `, ${r.error}` : ''}`);
  lines.push('exporters:');
  for (const e of s.exporters) {
    lines.push(`  ${e.name.padEnd(10)} backlog ${bytes(e.backlog_bytes)}, last error: ${e.last_error === '' ? 'none' : `${e.last_error} (${new Date(e.last_error_ms).toISOString()})`}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatZone(z: ZoneStatusMessage): string {
  const i = z.inputs;
  const t = z.thresholds;
  const psi = i.psi_some === undefined ? '' : `, psi some ${i.psi_some} full ${i.psi_full ?? '-'}`;
  return [
    `zone: ${z.zone} (mode ${z.mode}, since ${new Date(z.since_ms).toISOString()})`,
    `  inputs: ${i.source} ${bytes(i.usage_bytes)} of ${bytes(i.limit_bytes)}${psi}, tree rss ${bytes(i.tree_rss_bytes)}, green ring fill ${percent(i.green_ring_fill)}, red ring fill ${percent(i.red_ring_fill)}`,
    `  thresholds: yellow ${t.yellow}, red ${t.red}, recover ${t.recover}, ring yellow ${t.ring_yellow}, ring red ${t.ring_red}`,
  ].join('\n');
}

/** The plan made at start beside what is held now: the operator's answer to "will it fit?". */
function formatMemory(m: EngineStatusMessage['memory']): string[] {
  return [
    `memory: plan ${bytes(m.plan_bytes)} worst case, budget ${bytes(m.budget_bytes)} (${m.fraction} of ${bytes(m.limit_bytes)}, ${m.limit_source})`,
    `  now: working set ${bytes(m.usage_bytes)}, tree rss ${bytes(m.tree_rss_bytes)}, rings hold ${bytes(m.ring_used_bytes)}`,
    `  plan: ${m.parts.map((p) => `${p.part} ${bytes(p.bytes)}`).join(', ')}`,
  ];
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function bytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/**
 * Refused control connections: counted by reason (gophership_control_refused_connections_total)
 * and logged at most once per interval. The first refusal after a quiet interval is logged
 * at once with its peer; the ones after it are summed per peer and logged together when the
 * interval ends. A local user or a network client hammering the control plane then costs a
 * counter each, not a log line each.
 */
import type { Logger } from '../common/log';

export type RefusalReason = 'uid' | 'peer_unknown' | 'tls_handshake';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['uid', 'peer_unknown', 'tls_handshake'];

const LOG_INTERVAL_MS = 10_000;
/** Peers told apart in one summary; more are summed as `other_peers`. */
const MAX_PEERS_PER_SUMMARY = 32;

export class ControlRefusals {
  readonly counts: Record<RefusalReason, number> = { uid: 0, peer_unknown: 0, tls_handshake: 0 };
  private readonly pending = new Map<string, { reason: RefusalReason; peer: string; count: number }>();
  private otherPeers = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = LOG_INTERVAL_MS,
  ) {}

  /** `peer` says who was refused (uid, address); `first` is what the immediate line adds. */
  refused(reason: RefusalReason, peer: string, msg: string, first: Record<string, unknown>): void {
    this.counts[reason]++;
    if (this.timer === undefined) {
      this.log.warn(msg, { reason, peer, ...first, code: 'GS_CONTROL_DENIED' });
      this.timer = setTimeout(() => this.summarize(), this.intervalMs).unref();
      return;
    }
    const key = `${reason} ${peer}`;
    const seen = this.pending.get(key);
    if (seen !== undefined) seen.count++;
    else if (this.pending.size < MAX_PEERS_PER_SUMMARY) this.pending.set(key, { reason, peer, count: 1 });
    else this.otherPeers++;
  }

  close(): void {
    clearTimeout(this.timer);
    this.summarize();
    clearTimeout(this.timer);
  }

  private summarize(): void {
    this.timer = undefined;
    if (this.pending.size === 0 && this.otherPeers === 0) return;
    const refused = [...this.pending.values()];
    const total = refused.reduce((sum, p) => sum + p.count, this.otherPeers);
    this.log.warn('control connections refused', { intervalMs: this.intervalMs, total, refused, other_peers: this.otherPeers, code: 'GS_CONTROL_DENIED' });
    this.pending.clear();
    this.otherPeers = 0;
    // Refusals keep coming: the next ones wait for the next summary too.
    this.timer = setTimeout(() => this.summarize(), this.intervalMs).unref();
  }
}

/**
 * The lifecycle every child process shares, written once: read the spec the supervisor put
 * in the environment, start, tell the supervisor it is ready, and on a shutdown message close
 * gracefully and exit 0. A child whose
 * supervisor vanished exits too (gracefully on IPC disconnect, or by the kernel's
 * PR_SET_PDEATHSIG SIGKILL if it is stuck): rings and the vault persist, and the next
 * supervisor starts fresh children that resume from them.
 *
 * Children ignore SIGTERM and SIGINT: a terminal's Ctrl-C, `timeout`, or systemd with
 * KillMode=control-group signal the whole process group at once, and children acting on
 * that by themselves would break the order that loses nothing (ingest stops before the
 * exporters empty the rings). The supervisor gets the same signal and orders the shutdown.
 */
import { CHILD_SPEC_ENV, type ChildMessage, type ChildSpec, type SupervisorMessage } from './child-protocol';
import { createLogger, setLogFormat, setLogLevel, type Logger } from './log';
import { registry } from './metrics';
import { startMemoryRelief } from './memory-relief';
import { ZoneCell, zoneCellPath } from './zone-cell';
import { dieWithParent } from './native';
import { collectProcessMetrics } from './process-metrics';

export interface ChildService {
  /** Graceful: finish what is in hand within graceMs. Called once. */
  close(graceMs: number): Promise<void>;
  /** Any other message from the supervisor. */
  onMessage?(msg: SupervisorMessage): void;
}

export function runChild(start: (spec: ChildSpec, log: Logger) => Promise<ChildService>): void {
  const raw = process.env[CHILD_SPEC_ENV];
  if (raw === undefined || process.send === undefined) {
    process.stderr.write('this program is started by `gophership run`, not directly\n');
    process.exit(2);
  }
  const spec = JSON.parse(raw) as ChildSpec;
  dieWithParent();
  if (process.ppid !== spec.supervisorPid) process.exit(1);
  setLogLevel(spec.config.log_level);
  setLogFormat(spec.config.log_format);
  const log = createLogger(`${spec.role}-${spec.index}`);
  if (spec.config.metrics.enabled) collectProcessMetrics(`${spec.role}-${spec.index}`);
  startMemoryRelief(new ZoneCell(zoneCellPath(spec.config.rings.dir)), log);

  process.on('uncaughtException', (err) => {
    log.error('uncaught exception, exiting for the supervisor to restart', { err, stack: err.stack });
    process.exit(1);
  });
  // SIGHUP too: the supervisor forwards what it means (reload certificates) over IPC.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

  let service: ChildService | undefined;
  let closing: Promise<void> | undefined;
  const shutdown = (graceMs: number, reason: string): void => {
    if (closing !== undefined) return;
    log.info('shutting down', { reason, graceMs });
    closing = (service?.close(graceMs) ?? Promise.resolve()).then(
      () => {
        sendToSupervisor({ type: 'drained' });
        process.exit(0);
      },
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };

  process.on('message', (msg: SupervisorMessage) => {
    if (msg.type === 'shutdown') shutdown(msg.graceMs, 'supervisor');
    else if (msg.type === 'metrics') {
      // Unanswered, the supervisor's timeout applies and this child's last counters stand in.
      registry.getMetricsAsJSON().then(
        (metrics) => sendToSupervisor({ type: 'metrics', id: msg.id, metrics }),
        (err: unknown) => log.error('collecting metrics failed', { err }),
      );
    } else service?.onMessage?.(msg);
  });
  process.on('disconnect', () => shutdown(1000, 'supervisor gone'));

  start(spec, log).then(
    (s) => {
      service = s;
      sendToSupervisor({ type: 'ready' });
    },
    (err: unknown) => {
      log.error('failed to start', { err });
      process.exit(1);
    },
  );
}

/** Tells the supervisor something; dropped when the IPC channel is gone (the supervisor too). */
export function sendToSupervisor(msg: ChildMessage): void {
  if (process.connected) process.send?.(msg);
}

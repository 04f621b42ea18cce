/**
 * What every gs-ctl command that talks to a running engine shares: where the engine is
 * (--addr or --socket, or the control socket of --config, or that of the embedded defaults,
 * as `gophership run` without --config places it), TLS client options, --json and
 * --timeout, and turning a failed call into a one-line reason and an exit code.
 */
import { Option } from 'clipanion';
import { existsSync } from 'node:fs';
import { CtlCommand, configOrigin } from './ctl-command';
import { CallFailure, ControlConnection, EXIT, type ControlTarget } from './control-client';

export const EXIT_CODES_HELP = `
      Exit codes: 0 done; 1 the engine answered but could not do it (the reason is on
      stderr); 2 usage error (unknown option, bad value, unreadable --config); 3 no engine
      reached (no socket, connection refused, TLS handshake refused, plaintext to a TLS
      listener); 4 refused by the engine (uid not in control.allowed_uids).
`;

export abstract class EngineCommand extends CtlCommand {
  addr = Option.String('--addr', { description: 'unix:PATH or HOST:PORT of the control plane (default: control.socket of --config, else ./var/control.sock of the embedded defaults)' });
  socket = Option.String('--socket', { description: 'The engine\'s control socket; the same as --addr unix:PATH' });
  configPath = Option.String('--config,-c', { description: 'The engine\'s YAML configuration, to find its control socket' });
  tls = Option.Boolean('--tls', false, { description: 'Connect with TLS (a TCP control listener); needs --cert, --key and --ca' });
  cert = Option.String('--cert', { description: 'Client certificate (PEM) for --tls' });
  key = Option.String('--key', { description: 'Client private key (PEM) for --tls' });
  ca = Option.String('--ca', { description: 'CA certificate (PEM) that signed the engine\'s certificate, for --tls' });
  json = Option.Boolean('--json', false, { description: 'Print JSON instead of text' });
  timeout = Option.String('--timeout', { description: 'Seconds to wait for the engine (default 10)' });

  /** Runs `work` against the engine; usage errors exit 2, failed calls print their reason. */
  protected async withEngine(work: (engine: ControlConnection, timeoutMs: number) => Promise<number>): Promise<number> {
    const found = this.target();
    if (typeof found === 'string') return this.usageError(found);
    const { target, origin } = found;
    if (target.addr.startsWith('unix:') && !existsSync(target.addr.slice(5))) {
      this.context.stderr.write(
        `gs-ctl ${this.path.join(' ')}: no control socket at ${target.addr.slice(5)} (${origin}); is the engine running? ` +
          'Point gs-ctl at it with --config FILE (the engine\'s configuration), --socket PATH, or --addr HOST:PORT\n',
      );
      return EXIT.UNREACHABLE;
    }
    const seconds = this.timeout === undefined ? 10 : Number(this.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) return this.usageError(`--timeout takes a positive number of seconds, not ${this.timeout}`);
    let engine: ControlConnection;
    try {
      engine = new ControlConnection(target);
    } catch (err) {
      return this.usageError(`cannot read the TLS files: ${(err as Error).message}`);
    }
    try {
      return await work(engine, seconds * 1000);
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err;
      this.context.stderr.write(`gs-ctl ${this.path.join(' ')}: ${err.message}\n`);
      return err.exitCode;
    } finally {
      engine.close();
    }
  }

  protected print(json: unknown, text: string): void {
    this.context.stdout.write(this.json ? `${JSON.stringify(json)}\n` : text);
  }

  /** The target and where its address came from, or what is wrong with the options. */
  private target(): { target: ControlTarget; origin: string } | string {
    if (this.addr !== undefined && this.socket !== undefined) return 'give --addr or --socket, not both';
    let addr = this.addr ?? (this.socket === undefined ? undefined : `unix:${this.socket}`);
    let origin = this.addr !== undefined ? '--addr' : '--socket';
    if (addr === undefined) {
      const config = this.engineConfig(this.configPath);
      if (typeof config === 'string') return config;
      addr = `unix:${config.control.socket}`;
      origin = `control.socket ${configOrigin(this.configPath)}`;
    }
    const unix = addr.startsWith('unix:');
    if (!unix && !/^(?:\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(addr)) return `--addr takes unix:PATH or HOST:PORT, not ${addr}`;
    if (!this.tls) {
      if (this.cert !== undefined || this.key !== undefined || this.ca !== undefined) return '--cert, --key and --ca go with --tls';
      return { target: { addr }, origin };
    }
    if (unix) return '--tls is for a TCP address (HOST:PORT); the Unix socket is plaintext, guarded by the caller\'s uid';
    if (this.cert === undefined || this.key === undefined || this.ca === undefined) return '--tls needs --cert, --key and --ca';
    return { target: { addr, tls: { cert: this.cert, key: this.key, ca: this.ca } }, origin };
  }
}

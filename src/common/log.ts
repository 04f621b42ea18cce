/**
 * Our own logs on stderr: one JSON object per line where a program reads them (journald,
 * kubectl logs, any log shipper, GopherShip itself), readable text where a person does (a
 * terminal), chosen by `log_format` (auto: text on a terminal). Writes are synchronous on
 * purpose: a process that is about to die must not lose the line that says why.
 */
import { writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'auto' | 'json' | 'text';

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = LEVELS[(process.env.GS_LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;
let text = process.stderr.isTTY === true;

export function setLogLevel(level: Level): void {
  threshold = LEVELS[level];
}

export function setLogFormat(format: LogFormat): void {
  text = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(component: string): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < threshold) return;
    const now = new Date();
    const line = text
      ? textLine(now, level, component, msg, fields)
      : JSON.stringify({ time: now.toISOString(), level, component, pid: process.pid, msg, ...fields }, replacer);
    try {
      writeSync(2, `${line}\n`);
    } catch {
      // stderr closed (EPIPE) or would block: losing our own log line beats dying over it.
    }
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** `15:48:39.123 INFO  supervisor[1234] engine ready key=value key="two words"`, local time. */
function textLine(now: Date, level: Level, component: string, msg: string, fields: Record<string, unknown> = {}): string {
  const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${String(now.getMilliseconds()).padStart(3, '0')}`;
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const shown = value instanceof Error ? errorText(value) : replacer(key, value);
      const plain = typeof shown === 'string' && /^[^\s"=]+$/.test(shown);
      return `${key}=${plain ? shown : JSON.stringify(shown, replacer)}`;
    });
  return [time, level.toUpperCase().padEnd(5), `${component}[${process.pid}]`, msg, ...pairs].join(' ');
}

function errorText(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return `${code === undefined ? '' : `${String(code)}: `}${err.message}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function replacer(key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (typeof value === 'bigint') return value.toString();
  // Durations to what a reader can use: whole milliseconds, seconds to the millisecond.
  if (typeof value === 'number' && !Number.isInteger(value)) {
    if (/(?:Ms|_ms)$/.test(key)) return Math.round(value);
    if (/^seconds$|(?:Seconds|_s)$/.test(key)) return Math.round(value * 1000) / 1000;
  }
  return value;
}

/**
 * Our own logs: one JSON object per line on stderr, so that journald, kubectl logs and any
 * log shipper (including GopherShip itself) can take them without a parser of their own.
 * Writes are synchronous on purpose: a process that is about to die must not lose the line
 * that says why.
 */
import { writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = LEVELS[(process.env.GS_LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;

export function setLogLevel(level: Level): void {
  threshold = LEVELS[level];
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
    const line = JSON.stringify({ time: new Date().toISOString(), level, component, pid: process.pid, msg, ...fields }, errorReplacer);
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

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

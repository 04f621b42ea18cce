/**
 * Every error GopherShip raises on purpose carries a stable `GS_*` code. Codes are part of
 * the operator contract (logs, CLI output, docs/errors.md); they are mapped to gRPC or HTTP
 * statuses only at the edge that talks to a client.
 */
export class GopherShipError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ConfigError extends GopherShipError {
  constructor(message: string) {
    super('GS_CONFIG_INVALID', message);
  }
}

export class NativeLoadError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_NATIVE_LOAD', message, { cause });
  }
}

export class InvalidArgumentError extends GopherShipError {
  constructor(message: string) {
    super('GS_INVALID_ARGUMENT', message);
  }
}

export class RingCorruptError extends GopherShipError {
  constructor(message: string) {
    super('GS_RING_CORRUPT', message);
  }
}

export class RingTooSmallError extends GopherShipError {
  constructor(message: string) {
    super('GS_RING_TOO_SMALL', message);
  }
}

/**
 * The ring directory, or a file in it, is not the engine's own: another user made it, it is
 * open to others, or a symlink stands where a ring goes. Mapping it could hand log records to
 * whoever controls it, so the engine does not start.
 */
export class RingsUnsafeError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_RINGS_UNSAFE', message, { cause });
  }
}

export class ListenError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_LISTEN_FAILED', message, { cause });
  }
}

export class PoisonRecordError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_POISON_RECORD', message, { cause });
  }
}

/** "Expected X for Y but received Z": one message shape for every argument check. */
export function invalidArgument(expected: string, name: string, actual: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * A system call made through the native addon failed. `errno` is the symbolic name
 * ('EINVAL', 'EADDRINUSE') so callers can branch on the cause without parsing the message.
 */
export class SyscallError extends GopherShipError {
  readonly errno: string;
  readonly syscall: string;

  constructor(syscall: string, errno: string, message: string, cause?: unknown) {
    super('GS_SYSCALL', message, { cause });
    this.syscall = syscall;
    this.errno = errno;
  }
}

/**
 * An output file could not be opened, written or rotated. Whatever the batch was, it is not
 * in the file (a partly written batch is cut off again), so the caller may retry it whole.
 */
export class SinkIoError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_SINK_IO', message, { cause });
  }
}

/** A write reached an output file after close(): a shutdown-ordering bug, never retryable. */
export class SinkClosedError extends GopherShipError {
  constructor(message: string) {
    super('GS_SINK_CLOSED', message);
  }
}

/**
 * A vault segment cannot be read: its header is not a segment header (wrong file, damaged
 * header, newer format), or the file changed size while it was being read. Damaged records
 * are not this error: the reader skips or cuts them off and counts them.
 */
export class VaultCorruptError extends GopherShipError {
  constructor(message: string) {
    super('GS_VAULT_CORRUPT', message);
  }
}

/**
 * Writing the vault failed (device full, I/O error, a segment file that already holds
 * records). The segment writer is unusable afterwards: records it had not reported as synced
 * must be appended again through a new writer.
 */
export class VaultIoError extends GopherShipError {
  constructor(message: string, cause?: unknown) {
    super('GS_VAULT_IO', message, { cause });
  }
}

/** A record reached the vault writer after close(): a shutdown-ordering bug. */
export class VaultClosedError extends GopherShipError {
  constructor(message: string) {
    super('GS_VAULT_CLOSED', message);
  }
}

/** The vault holds vault.max_bytes: records wait in the red ring, and ingest refuses retryably once that is full. */
export class VaultFullError extends GopherShipError {
  constructor(message: string) {
    super('GS_VAULT_FULL', message);
  }
}

/**
 * `<vault>/replay-cursor.json` does not hold a cursor replay wrote (edited by hand, or
 * damaged). Which records were exported cannot be guessed, so replay stops instead of
 * skipping records or exporting the whole vault again on its own.
 */
export class ReplayCursorCorruptError extends GopherShipError {
  constructor(message: string) {
    super('GS_REPLAY_CURSOR_CORRUPT', message);
  }
}

/**
 * The vault holds records at or below the replay cursor that no replay handed out: their
 * seqs were used again (the vault written anew after a replay emptied it, a segment copied
 * in). Replay would pass over them as done and delete them, so it stops instead.
 */
export class ReplayCursorAheadError extends GopherShipError {
  constructor(message: string) {
    super('GS_REPLAY_CURSOR_AHEAD', message);
  }
}

/** A vault record larger than the replay ring can hold (a ring kept from a run with smaller rings). */
export class ReplayRecordTooLargeError extends GopherShipError {
  constructor(message: string) {
    super('GS_REPLAY_RECORD_TOO_LARGE', message);
  }
}

/**
 * A part of a request that cannot be cut small enough for the downstream's per-request limit
 * (one LogRecord larger than `max_message_bytes` of an exporter). Never retryable: it goes
 * to the dead-letter file.
 */
export class ExportTooLargeError extends GopherShipError {
  constructor(message: string) {
    super('GS_EXPORT_TOO_LARGE', message);
  }
}

/** The downstream refused a request with a status the OTLP specification says not to retry. */
export class ExportRejectedError extends GopherShipError {
  constructor(message: string) {
    super('GS_EXPORT_REJECTED', message);
  }
}

/**
 * The downstream could not take a request now (unreachable, a retryable status, a timeout).
 * The request is retried with backoff and stays in the ring meanwhile.
 */
export class ExportUnavailableError extends GopherShipError {
  constructor(
    message: string,
    /** The delay the downstream asked for (RetryInfo, Retry-After), if it did. */
    readonly retryAfterMs?: number,
  ) {
    super('GS_EXPORT_UNAVAILABLE', message);
  }
}

/**
 * A control request that the engine cannot carry out in its present state: no pressure
 * monitor for a zone request, no vault process to replay, a drain already under way.
 */
export class ControlUnavailableError extends GopherShipError {
  constructor(message: string) {
    super('GS_CONTROL_UNAVAILABLE', message);
  }
}

/** A control-plane caller whose uid (Unix socket) is not in control.allowed_uids. */
export class ControlDeniedError extends GopherShipError {
  constructor(message: string) {
    super('GS_CONTROL_DENIED', message);
  }
}

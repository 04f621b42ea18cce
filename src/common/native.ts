/**
 * The native addon: Linux syscalls that Node does not expose (SO_REUSEPORT, shared mmap,
 * SO_PEERCRED, O_DIRECT, ...). The C++ side trusts its caller, so every argument is checked
 * here before it crosses over, and a failed syscall comes back as a SyscallError whose
 * `errno` is the symbolic name ('EINVAL').
 *
 * Everything here is synchronous and runs on the calling thread; the disk calls (pwrite,
 * fdatasync, ...) block it for as long as the device takes.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { types } from 'node:util';
import { invalidArgument, NativeLoadError, SyscallError } from './errors';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface DirectOpenOptions {
  /** Open read-write instead of read-only. */
  write?: boolean;
  /** Create the file (mode 0600) when it does not exist. */
  create?: boolean;
}

interface Binding {
  listenReusePort(host: string, port: number, backlog: number): number;
  probeBind(host: string, port: number): void;
  listenUnix(path: string, backlog: number): number;
  localPort(fd: number): number;
  peerCred(fd: number): PeerCredentials;
  mapShared(file: string, bytes: number): ArrayBuffer;
  allocAligned(bytes: number, alignment: number): ArrayBuffer;
  openDirect(file: string, write: boolean, create: boolean): number;
  pwrite(fd: number, buf: Uint8Array, position: number): number;
  pread(fd: number, buf: Uint8Array, position: number): number;
  fdatasync(fd: number): void;
  syncFileRange(fd: number, offset: number, bytes: number): void;
  fadviseDontNeed(fd: number, offset: number, bytes: number): void;
  mkfifo(file: string, mode: number): void;
  dieWithParent(): void;
  trimMalloc(): boolean;
  releasePages(view: Uint8Array, offset: number, bytes: number): void;
  tryLockExclusive(fd: number): boolean;
  watchPriority(fd: number, onReady: () => void): () => void;
  crc32c(buf: Uint8Array, seed: number): number;
  crc32cSoftware(buf: Uint8Array, seed: number): number;
}

/** The smallest block size O_DIRECT accepts on any device; 4 KiB-sector devices want more. */
export const DIRECT_IO_ALIGNMENT = 512;

// This file runs as dist/src/common/native.js; node-gyp writes build/ at the package root.
const CANDIDATES = ['Release', 'Debug'].map((type) =>
  join(__dirname, '../../..', 'build', type, 'gophership_native.node'),
);

let loaded: Binding | undefined;

// Loaded on first use so that commands which never touch it (--help, config checks) work
// on a checkout where the addon has not been built.
function addon(): Binding {
  loaded ??= load();
  return loaded;
}

function load(): Binding {
  const failures: string[] = [];
  let cause: unknown;
  for (const candidate of CANDIDATES) {
    try {
      return require(candidate) as Binding;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
      failures.push(`  ${candidate}: ${missing ? 'not built' : firstLine(error).replace(`${candidate}: `, '')}`);
      // A build that exists but will not load (wrong architecture, missing library) is the
      // one worth keeping as the cause.
      if (!missing) cause ??= error;
    }
  }
  throw new NativeLoadError(
    [
      'Could not load the GopherShip native addon. Tried:',
      ...failures,
      'Build it with `npm install` (needs g++, make and python3), or rebuild only the addon with `npx node-gyp rebuild`.',
    ].join('\n'),
    cause,
  );
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function syscall<T>(run: (binding: Binding) => T): T {
  const binding = addon();
  try {
    return run(binding);
  } catch (error) {
    const { code, syscall: name } = error as NodeJS.ErrnoException;
    if (error instanceof Error && typeof code === 'string' && typeof name === 'string') {
      throw new SyscallError(name, code, error.message, error);
    }
    throw error;
  }
}

function checkPath(value: unknown, name: string): string {
  // A NUL would silently cut the path short once it becomes a C string.
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw invalidArgument('a non-empty path without NUL bytes', name, value);
  }
  return value;
}

function checkInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`an integer from ${min} to ${max}`, name, value);
  }
  return value;
}

function checkFd(value: unknown): number {
  return checkInteger(value, 'fd', 0, 2 ** 31 - 1);
}

function checkBytes(value: unknown, name: string): Uint8Array {
  if (!types.isUint8Array(value)) throw invalidArgument('a Uint8Array', name, value);
  return value;
}

function checkDirectMultiple(value: number, name: string): number {
  if (value % DIRECT_IO_ALIGNMENT !== 0) throw invalidArgument(`a multiple of ${DIRECT_IO_ALIGNMENT}`, name, value);
  return value;
}

/**
 * A listening TCP socket with SO_REUSEPORT, so each worker process binds the same port and
 * gets its own accept queue (Node 20 ignores `listen({ reusePort })`). Pass the fd to
 * `server.listen({ fd })`, which then owns it; close it with fs.closeSync otherwise. Use it
 * from child_process.fork children, not cluster workers: there Node hands `listen({ fd })` to
 * the primary, which cannot see the worker's fd and fails with "bind EEXIST".
 * `host` must be a numeric address: resolving names is the caller's business.
 */
export function listenReusePort(host: string, port: number, backlog = 511): number {
  if (typeof host !== 'string' || isIP(host) === 0 || host.includes('%')) {
    throw invalidArgument('a numeric IPv4 or IPv6 address without a zone (hostnames are not resolved)', 'host', host);
  }
  checkInteger(port, 'port', 0, 65535);
  checkInteger(backlog, 'backlog', 1, 2 ** 31 - 1);
  return syscall((binding) => binding.listenReusePort(host, port, backlog));
}

/**
 * Binds a TCP socket to host:port without SO_REUSEPORT and closes it, never listening:
 * throws EADDRINUSE while any socket listens there, a SO_REUSEPORT group of this very uid
 * included, which listenReusePort would silently join. `host` must be numeric.
 */
export function probeBind(host: string, port: number): void {
  if (typeof host !== 'string' || isIP(host) === 0 || host.includes('%')) {
    throw invalidArgument('a numeric IPv4 or IPv6 address without a zone (hostnames are not resolved)', 'host', host);
  }
  checkInteger(port, 'port', 1, 65535);
  syscall((binding) => binding.probeBind(host, port));
}

/**
 * A listening Unix stream socket at `path` (which must not exist). The supervisor makes it
 * once and hands the fd to every worker: Unix sockets have no SO_REUSEPORT.
 */
export function listenUnix(path: string, backlog = 511): number {
  checkPath(path, 'path');
  // sun_path holds 108 bytes including the terminating NUL.
  if (Buffer.byteLength(path) > 107) throw invalidArgument('a socket path of at most 107 bytes', 'path', path);
  checkInteger(backlog, 'backlog', 1, 2 ** 31 - 1);
  return syscall((binding) => binding.listenUnix(path, backlog));
}

/** The local port of a bound TCP socket, e.g. to learn which port binding port 0 picked. */
export function localPort(fd: number): number {
  checkFd(fd);
  return syscall((binding) => binding.localPort(fd));
}

/** Who is on the other end of a connected Unix socket, as the kernel saw it at connect time. */
export function peerCred(fd: number): PeerCredentials {
  checkFd(fd);
  return syscall((binding) => binding.peerCred(fd));
}

/**
 * Maps `bytes` of a file, shared with every other process that maps it. The file is created
 * (mode 0600) or grown to `bytes` but never shrunk. The mapping lives until the returned
 * ArrayBuffer is garbage collected.
 */
export function mapShared(file: string, bytes: number): ArrayBuffer {
  checkPath(file, 'path');
  checkInteger(bytes, 'bytes', 1);
  return syscall((binding) => binding.mapShared(file, bytes));
}

/** Zeroed memory whose address is a multiple of `alignment`, as O_DIRECT transfers need. */
export function allocAligned(bytes: number, alignment = 4096): ArrayBuffer {
  checkInteger(bytes, 'bytes', 1);
  checkInteger(alignment, 'alignment', 8, 2 ** 30);
  if ((alignment & (alignment - 1)) !== 0) throw invalidArgument('a power of two', 'alignment', alignment);
  return syscall((binding) => binding.allocAligned(bytes, alignment));
}

/**
 * Opens a file with O_DIRECT, bypassing the page cache. Filesystems without O_DIRECT
 * support (procfs, tmpfs before Linux 6.6, some FUSE and network filesystems) refuse it with
 * errno EINVAL, which callers should treat as "use buffered I/O here". Close with fs.closeSync.
 */
export function openDirect(file: string, options: DirectOpenOptions = {}): number {
  checkPath(file, 'path');
  if (typeof options !== 'object' || options === null) throw invalidArgument('an object', 'options', options);
  const { write = false, create = false } = options;
  if (typeof write !== 'boolean') throw invalidArgument('a boolean', 'options.write', write);
  if (typeof create !== 'boolean') throw invalidArgument('a boolean', 'options.create', create);
  try {
    return syscall((binding) => binding.openDirect(file, write, create));
  } catch (error) {
    // With these flags, EINVAL from open(2) in practice only means the filesystem refuses
    // O_DIRECT; the bare "Invalid argument" would leave the operator guessing.
    if (error instanceof SyscallError && error.errno === 'EINVAL') {
      throw new SyscallError(error.syscall, error.errno, `${error.message}: O_DIRECT is not supported by the filesystem`, error);
    }
    throw error;
  }
}

/**
 * Writes `buf` at `position` on an O_DIRECT fd; returns the bytes written (short only when
 * the device fills up). The buffer must come from allocAligned, and its length and the
 * position must be multiples of 512.
 */
export function pwrite(fd: number, buf: Uint8Array, position: number): number {
  checkDirectTransfer(fd, buf, position);
  return syscall((binding) => binding.pwrite(fd, buf, position));
}

/** Reads into `buf` from `position` on an O_DIRECT fd; returns the bytes read (fewer at end of file). */
export function pread(fd: number, buf: Uint8Array, position: number): number {
  checkDirectTransfer(fd, buf, position);
  return syscall((binding) => binding.pread(fd, buf, position));
}

function checkDirectTransfer(fd: number, buf: Uint8Array, position: number): void {
  checkFd(fd);
  checkDirectMultiple(checkBytes(buf, 'buf').byteLength, 'buf.byteLength');
  checkDirectMultiple(checkInteger(position, 'position', 0), 'position');
}

export function fdatasync(fd: number): void {
  checkFd(fd);
  syscall((binding) => binding.fdatasync(fd));
}

/**
 * Writes back a range of a buffered file and waits until it is on the device, without the
 * metadata flush of fdatasync; `bytes` 0 means through the end of the file.
 */
export function syncFileRange(fd: number, offset: number, bytes: number): void {
  checkFd(fd);
  checkInteger(offset, 'offset', 0);
  checkInteger(bytes, 'bytes', 0);
  syscall((binding) => binding.syncFileRange(fd, offset, bytes));
}

/** Drops a range of a file from the page cache once it is written; `bytes` 0 means through the end. */
export function fadviseDontNeed(fd: number, offset: number, bytes: number): void {
  checkFd(fd);
  checkInteger(offset, 'offset', 0);
  checkInteger(bytes, 'bytes', 0);
  syscall((binding) => binding.fadviseDontNeed(fd, offset, bytes));
}

/** Returns glibc's free heap memory to the kernel (malloc_trim); true when some was released. */
export function trimMalloc(): boolean {
  return syscall((binding) => binding.trimMalloc());
}

/** The page size MADV_REMOVE works in. */
export const PAGE_BYTES = 4096;

/**
 * Frees the tmpfs pages behind `bytes` of a shared mapping from `offset` (madvise
 * MADV_REMOVE): the memory and its cgroup charge go back at once, and the range reads as
 * zeros. Both must be multiples of PAGE_BYTES, and `view` must start on a page.
 */
export function releasePages(view: Uint8Array, offset: number, bytes: number): void {
  checkInteger(offset, 'offset', 0);
  checkInteger(bytes, 'bytes', 0);
  if (offset % PAGE_BYTES !== 0 || bytes % PAGE_BYTES !== 0 || view.byteOffset % PAGE_BYTES !== 0) throw invalidArgument('page-aligned offsets', 'releasePages', { offset, bytes, byteOffset: view.byteOffset });
  if (offset + bytes > view.byteLength) throw invalidArgument(`a range within the ${view.byteLength} bytes of the view`, 'releasePages', { offset, bytes });
  syscall((binding) => binding.releasePages(view, offset, bytes));
}

/**
 * Asks the kernel to SIGKILL this process when its parent exits (PR_SET_PDEATHSIG), so a
 * child never outlives its supervisor, even when its event loop is blocked.
 */
export function dieWithParent(): void {
  syscall((binding) => binding.dieWithParent());
}

/** flock(LOCK_EX | LOCK_NB): false when another open file description holds the lock. */
export function tryLockExclusive(fd: number): boolean {
  checkFd(fd);
  return syscall((binding) => binding.tryLockExclusive(fd));
}

/**
 * Calls `onReady` from the event loop each time `fd` signals POLLPRI (a PSI trigger firing,
 * for one). Returns the function that stops watching; call it before closing the fd.
 */
export function watchPriority(fd: number, onReady: () => void): () => void {
  checkFd(fd);
  if (typeof onReady !== 'function') throw invalidArgument('a function', 'onReady', onReady);
  return syscall((binding) => binding.watchPriority(fd, onReady));
}

/** Creates a named pipe; the umask still applies to `mode`. */
export function mkfifo(file: string, mode = 0o600): void {
  checkPath(file, 'path');
  checkInteger(mode, 'mode', 0, 0o777);
  syscall((binding) => binding.mkfifo(file, mode));
}

/**
 * CRC32C (Castagnoli), using SSE4.2 when the CPU has it. Pass a previous result as `seed`
 * to continue it: crc32c(b, crc32c(a)) === crc32c(a + b).
 */
export function crc32c(buf: Uint8Array, seed = 0): number {
  checkBytes(buf, 'buf');
  checkInteger(seed, 'seed', 0, 0xffffffff);
  return addon().crc32c(buf, seed);
}

/** The table-driven crc32c that CPUs without SSE4.2 use, so it can be checked on those that have it. */
export function crc32cSoftware(buf: Uint8Array, seed = 0): number {
  checkBytes(buf, 'buf');
  checkInteger(seed, 'seed', 0, 0xffffffff);
  return addon().crc32cSoftware(buf, seed);
}

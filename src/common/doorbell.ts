/**
 * Wakes a ring reader that went to sleep on an empty ring. The bell is a FIFO next to the
 * ring file: the reader holds it open read-write (so it never sees EOF when writers come
 * and go) and the writer writes one byte, only when the reader flagged that it sleeps, so
 * the cost on the hot path is one atomic compare per record.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';

const ONE_BYTE = Buffer.from([1]);

export function doorbellPath(ringPath: string): string {
  return `${ringPath}.bell`;
}

/** The bell the other way: the reader rings it after a commit, for a writer awaiting one. */
export function commitBellPath(ringPath: string): string {
  return `${ringPath}.committed`;
}

export class DoorbellSender {
  private fd = -1;

  constructor(private readonly path: string) {}

  ring(): void {
    if (this.fd < 0) {
      try {
        this.fd = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      } catch {
        // ENXIO: no reader has the FIFO open; the reader's successor looks at the ring first.
        return;
      }
    }
    try {
      writeSync(this.fd, ONE_BYTE);
    } catch (err) {
      // EAGAIN: the FIFO is full of unread rings, so the reader is awake anyway.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.close();
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class DoorbellListener {
  private readonly socket: Socket;

  constructor(path: string, onRing: () => void) {
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    this.socket = new Socket({ fd, readable: true, writable: false });
    this.socket.on('data', onRing);
    this.socket.on('error', () => this.socket.destroy());
  }

  close(): void {
    this.socket.destroy();
  }
}

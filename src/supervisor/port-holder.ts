/**
 * Who listens on a TCP port, for the error that stops a start: the socket's inode from
 * /proc/net/tcp{,6}, then the process holding a descriptor on it from /proc/<pid>/fd. Best
 * effort: another user's processes cannot be looked into without privileges.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const LISTEN_STATE = '0A';

export function portHolder(port: number): string | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN_STATE) continue;
      if (Number.parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return null;
  const holders: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    if (fds.some((fd) => inodes.has(linkOf(`/proc/${pid}/fd/${fd}`)))) holders.push(`pid ${pid} (${command(pid)})`);
    if (holders.length === 4) break;
  }
  return holders.length === 0 ? null : holders.join(', ');
}

function linkOf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function command(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '').join(' ').slice(0, 200);
  } catch {
    return '?';
  }
}

/** A listen or connect address as the configuration resolves it, and its one written form. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function formatListen(addr: ListenAddress): string {
  return addr.kind === 'unix' ? `unix:${addr.path}` : addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

import { resolve } from 'node:path';

/** A listen or connect address as the configuration resolves it, and its one written form. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function formatListen(addr: ListenAddress): string {
  return addr.kind === 'unix' ? `unix:${addr.path}` : addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** `host:port`, `[v6]:port` or `unix:PATH` (made absolute); undefined for anything else. */
export function parseAddress(text: string): ListenAddress | undefined {
  if (text.startsWith('unix:')) return text.length > 5 ? { kind: 'unix', path: resolve(text.slice(5)) } : undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[3]) > 65535) return undefined;
  return { kind: 'tcp', host: m[1] ?? m[2], port: Number(m[3]) };
}

/**
 * An OTLP/gRPC endpoint as the OpenTelemetry Collector reads one: an address, or a URL whose
 * scheme says plaintext (`http://`) or TLS (`https://`). `tls` is undefined for a bare address.
 */
export function parseGrpcEndpoint(text: string): { address: ListenAddress; tls: boolean | undefined } | undefined {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(text);
  if (m === null) {
    const address = parseAddress(text);
    return address === undefined ? undefined : { address, tls: undefined };
  }
  const address = parseAddress(m[2]);
  return address === undefined || address.kind !== 'tcp' ? undefined : { address, tls: m[1] === 'https' };
}

import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || hostname.startsWith('127.');
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/**
 * The address Consul (and callers) should dial for this instance. An explicit option wins; then a
 * specific address the server is bound to; then 127.0.0.1 when the agent itself is on loopback (agent
 * and service share a host, the usual topology); else the first non-internal IPv4 of this host.
 */
export function chooseServiceAddress(
  explicit: string | undefined,
  bound: AddressInfo | undefined,
  consulOrigin: string,
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string {
  if (explicit !== undefined) return explicit;
  if (bound && !isUnspecified(bound.address)) {
    return bound.address === '::1' ? '127.0.0.1' : bound.address;
  }
  if (isLoopbackHost(new URL(consulOrigin).hostname)) return '127.0.0.1';
  for (const list of Object.values(interfaces)) {
    for (const entry of list ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) return entry.address;
    }
  }
  return '127.0.0.1';
}

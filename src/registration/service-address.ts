import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import type { Logger } from '../logger';
import { localAddressToward } from './route-to-agent';
import { errorSummary } from '../error-summary';

/** Where an advertised address came from. */
export type AddressSource =
  /** `service.address`. */
  | 'option'
  /** The specific address the server listens on. */
  | 'bound'
  /** None (`''`): Consul's "the node's address", right when the agent is on this host. */
  | 'node'
  /** The local address of the route to an agent on another host or container. */
  | 'route-to-agent'
  /** The first non-internal address of this host, when the route to the agent is unknown. */
  | 'interface';

/** What to register: the address callers dial and the one the agent's HTTP check dials. */
export interface ServiceAddressChoice {
  /** The registration's `Address`; `''` means the node's address (the agent's advertise address). */
  readonly address: string;
  /** Host of the HTTP check URL: an address the agent itself reaches this server at. */
  readonly checkAddress: string;
  readonly source: AddressSource;
  /** Set when the rule can tell that the agent or callers elsewhere will not reach the service. */
  readonly warning?: string;
}

/** The facts the rule decides from, all known before it runs. */
export interface AddressFacts {
  /** `service.address`, when set: it wins. */
  readonly explicit: string | undefined;
  /** What the server listens on. */
  readonly bound: { readonly address: string; readonly family: string };
  /** The agent's origin (`consul.address`, `CONSUL_HTTP_ADDR`). */
  readonly consulOrigin: string;
  /** The local address of the route to the agent ({@link localAddressToward}), when measured. */
  readonly routeToAgent?: string | undefined;
  /** This host's interfaces, for the last fallback. Default: none. */
  readonly interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, or `::ffff:a00:1` as URLs write it) as IPv4. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!mapped) return address;
  if (mapped[1] !== undefined) return mapped[1];
  const high = parseInt(mapped[2]!, 16);
  const low = parseInt(mapped[3]!, 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function isLoopbackAddress(address: string): boolean {
  const plain = unmapped(address);
  return plain === '::1' || plain.startsWith('127.');
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** True when the agent's origin names this host's loopback: the agent runs on this host. */
export function isAgentOnLoopback(consulOrigin: string): boolean {
  const host = new URL(consulOrigin).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
}

/** True when {@link chooseServiceAddress} would use the route to the agent, so it must be measured. */
export function needsRouteToAgent(facts: AddressFacts): boolean {
  return (
    facts.explicit === undefined &&
    isUnspecified(facts.bound.address) &&
    !isAgentOnLoopback(facts.consulOrigin)
  );
}

function firstInterfaceAddress(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  ipv4Only: boolean,
): string | undefined {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((entry) => !entry.internal);
  return (
    external.find((entry) => entry.family === 'IPv4')?.address ??
    (ipv4Only
      ? undefined
      : external.find((entry) => entry.family === 'IPv6' && !entry.address.startsWith('fe80:'))
          ?.address)
  );
}

/** The agent on this host reaches a server listening on every interface through loopback. */
const ON_THIS_HOST: ServiceAddressChoice = {
  address: '',
  checkAddress: '127.0.0.1',
  source: 'node',
};

/**
 * The address to advertise for this instance, and the one its HTTP check targets (pure):
 *
 * 1. `service.address` wins, for both.
 * 2. A server listening on one specific address advertises that address (an IPv4-mapped one as
 *    IPv4): nothing else reaches it. On loopback only, a remote agent's check cannot reach it
 *    (warning).
 * 3. Listening on every interface with the agent on this host (its origin is loopback, Consul's
 *    standard topology and the dev agent): no address, which Consul reads as the node's address,
 *    the agent's advertise address, the one other hosts reach this host at; the agent checks
 *    through 127.0.0.1 (Node's `::` is dual-stack).
 * 4. Listening on every interface with the agent elsewhere (docker-compose, another host): the
 *    local address of the route to the agent, the interface its network reaches us through. A
 *    route through loopback (a name resolving to 127.0.0.1) counts as case 3. With no route known,
 *    or an IPv6 route for an IPv4-only server, the first non-internal address (warning).
 */
export function chooseServiceAddress(facts: AddressFacts): ServiceAddressChoice {
  const { explicit, bound, consulOrigin } = facts;
  if (explicit !== undefined)
    return { address: explicit, checkAddress: explicit, source: 'option' };
  const agentHost = new URL(consulOrigin).host;
  if (!isUnspecified(bound.address)) {
    const address = unmapped(bound.address);
    const unreachable = isLoopbackAddress(address) && !isAgentOnLoopback(consulOrigin);
    return {
      address,
      checkAddress: address,
      source: 'bound',
      ...(unreachable && {
        warning: `the server listens on ${address} only, which the Consul agent at ${agentHost} (not on this host's loopback) cannot reach: its check will fail; listen on every interface or on an address the agent reaches`,
      }),
    };
  }
  if (isAgentOnLoopback(consulOrigin)) return ON_THIS_HOST;
  const ipv4Only = bound.address === '0.0.0.0';
  const route = facts.routeToAgent === undefined ? undefined : unmapped(facts.routeToAgent);
  if (route !== undefined && !(ipv4Only && isIPv6(route))) {
    if (isLoopbackAddress(route)) return ON_THIS_HOST;
    return { address: route, checkAddress: route, source: 'route-to-agent' };
  }
  const fallback = firstInterfaceAddress(facts.interfaces ?? {}, ipv4Only) ?? '127.0.0.1';
  const why =
    route === undefined
      ? `the route to the Consul agent at ${agentHost} is unknown`
      : `the route to the Consul agent at ${agentHost} goes through ${route} (IPv6) but the server listens on 0.0.0.0 (IPv4 only)`;
  return {
    address: fallback,
    checkAddress: fallback,
    source: 'interface',
    warning: `${why}; advertising ${fallback}, this host's first non-internal address; set service.address if callers or the agent cannot reach it`,
  };
}

/** What {@link resolveServiceAddress} measures with; replaceable in tests. */
export interface AddressProbes {
  readonly routeToAgent: (origin: string, signal?: AbortSignal) => Promise<string>;
  readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

const SYSTEM_PROBES: AddressProbes = {
  routeToAgent: (origin, signal) => localAddressToward(origin, signal ? { signal } : {}),
  interfaces: networkInterfaces,
};

/**
 * Measures what {@link chooseServiceAddress} needs (the route to a remote agent, only when the
 * rule uses it) and applies it; logs its warning, and a route that could not be found, once.
 */
export async function resolveServiceAddress(
  facts: Omit<AddressFacts, 'routeToAgent' | 'interfaces'>,
  logger: Logger,
  { signal, probes = SYSTEM_PROBES }: { signal?: AbortSignal; probes?: AddressProbes } = {},
): Promise<ServiceAddressChoice> {
  let routeToAgent: string | undefined;
  if (needsRouteToAgent(facts)) {
    try {
      routeToAgent = await probes.routeToAgent(facts.consulOrigin, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      logger.warn({ err: errorSummary(error) }, 'cannot find the route to the Consul agent');
    }
  }
  const choice = chooseServiceAddress({ ...facts, routeToAgent, interfaces: probes.interfaces() });
  if (choice.warning !== undefined)
    logger.warn({ address: choice.address, source: choice.source }, choice.warning);
  return choice;
}

import type { ConsulClient } from '../consul/consul-client';
import type { HealthServiceEntry } from '../consul/consul-types';
import { CliError, ExitCode } from './exit-codes';

/** One registered instance as the CLI prints it, whatever its health. */
export interface InstanceRow {
  /** Identity in the datacenter: `NODE/SERVICE_ID` (Consul makes service ids unique per agent only). */
  readonly id: string;
  readonly node: string;
  readonly serviceId: string;
  readonly address: string;
  readonly port: number;
  /** Worst of its checks: passing, warning, critical (maintenance counts as critical). */
  readonly health: 'passing' | 'warning' | 'critical';
  /** Consul's `Weights.Warning` while warning, else `Weights.Passing` (default 1). */
  readonly weight: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** The health Consul's own CLI and UI would show: the worst check wins. */
export function aggregateHealth(entry: HealthServiceEntry): InstanceRow['health'] {
  const statuses = entry.Checks.map((check) => check.Status);
  if (statuses.some((s) => s === 'critical' || s === 'maintenance')) return 'critical';
  if (statuses.includes('warning')) return 'warning';
  return 'passing';
}

/** A health entry as an InstanceRow. */
export function toInstanceRow(entry: HealthServiceEntry): InstanceRow {
  const health = aggregateHealth(entry);
  const weights = entry.Service.Weights ?? { Passing: 1, Warning: 1 };
  return {
    id: `${entry.Node.Node}/${entry.Service.ID}`,
    node: entry.Node.Node,
    serviceId: entry.Service.ID,
    // An instance registered without an address is reached at its node's.
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    health,
    weight: health === 'warning' ? weights.Warning : weights.Passing,
    tags: entry.Service.Tags ?? [],
    meta: entry.Service.Meta ?? {},
  };
}

/**
 * Every instance of `service`, sorted by identity; CliError(4) when none is registered. With ACLs in
 * default-deny mode Consul does not refuse a read: it filters out what the token may not see and
 * answers an empty list. An empty catalog (not even the servers' own `consul` service) means exactly
 * that, so it is reported as ACL denied (3) instead of "unknown service".
 */
export async function readInstances(
  consul: ConsulClient,
  service: string,
  signal?: AbortSignal,
): Promise<InstanceRow[]> {
  const options = signal ? { signal } : {};
  const { data } = await consul.healthService(service, {}, options);
  if (data.length === 0) {
    await assertCatalogVisible(consul, signal);
    throw new CliError(
      ExitCode.unknownService,
      `no instances of service '${service}' are registered in Consul at ${consul.origin}`,
    );
  }
  return data.map(toInstanceRow).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every service name in the catalog; CliError(3) when ACLs hide them all (see readInstances). */
export async function readCatalog(
  consul: ConsulClient,
  signal?: AbortSignal,
): Promise<Record<string, string[]>> {
  const catalog = await consul.catalogServices(signal ? { signal } : {});
  if (Object.keys(catalog).length === 0) throw aclHidesEverything(consul);
  return catalog;
}

async function assertCatalogVisible(consul: ConsulClient, signal?: AbortSignal): Promise<void> {
  await readCatalog(consul, signal);
}

function aclHidesEverything(consul: ConsulClient): CliError {
  const who = consul.hasToken
    ? 'the token from CONSUL_HTTP_TOKEN / CONSUL_HTTP_TOKEN_FILE may not read them'
    : 'no token was given (set CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE)';
  return new CliError(
    ExitCode.aclDenied,
    `Consul at ${consul.origin} lists no services at all, not even 'consul': ACLs hide them and ${who}`,
  );
}

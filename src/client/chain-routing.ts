// The discovery chain of one called service, wired to its client: a watch of
// `/v1/discovery-chain/NAME` (last good chain kept when an answer is refused) that reads when the
// config-entry lists answer anew (config-entry-index.ts: no blocking query per chain; a chain of
// another datacenter, whose index is not this one's, blocks on its own), and for each of
// the chain's targets its instances (the target service's shared health watch, in the target's
// datacenter, narrowed to the subset) behind a routing table of its own. Every new chain builds a
// new TrafficPlan over those tables and hands it to the client; tables of targets that stay are
// reused (their balancer and outlier state survive a split change), the others are closed.
import type { ServiceQueryOptions } from '../watch/service-watcher-options';
import type { WatcherLease, WatcherRegistry } from '../watch/watcher-registry';
import { NoHealthyInstancesError } from '../errors';
import type { Logger } from '../logger';
import type { ChainTargetMetrics } from '../metrics/target-metrics';
import { BlockingValue } from '../traffic/blocking-value';
import type { BlockingValueStatus } from '../traffic/blocking-value';
import type {
  ConfigEntryIndex,
  TrafficSource,
  TrafficWatchSettings,
} from '../traffic/config-entry-index';
import { inChainTenancy, parseDiscoveryChain } from '../traffic/discovery-chain';
import type { ChainTarget, DiscoveryChain, HttpRouteMatch } from '../traffic/discovery-chain';
import type { TrafficStatus } from '../admin/status';
import { FilteredInstances, filtersLocally, subsetPredicate } from '../traffic/target-instances';
import { TrafficPlan } from '../traffic/traffic-plan';
import type { RoutingTable } from './routing-table';
import type { ServiceClient, TargetRouting, TargetSettings } from './service-client';

/**
 * What the app configured for a target's service: how its instances are read (tag, filter,
 * passingOnly...) besides how they are called and chosen. The query stays here, not in
 * TargetSettings: the routing table a target gets needs no query, its watcher lease does.
 */
type TargetOptions = TargetSettings & { readonly query: ServiceQueryOptions };

interface Target {
  readonly key: string;
  readonly target: ChainTarget;
  readonly lease: WatcherLease;
  readonly instances: FilteredInstances;
  readonly routing: TargetRouting;
  /** Whether the target is in the chain's own datacenter (the first call waits for those). */
  readonly local: boolean;
}

/** A route's match in one line, e.g. `path prefix /api, header x-canary exact 1`. */
export function describeMatch(match: HttpRouteMatch | undefined): string {
  if (match === undefined) return 'any';
  const parts: string[] = [];
  if (match.pathExact !== undefined) parts.push(`path ${match.pathExact}`);
  if (match.pathPrefix !== undefined) parts.push(`path prefix ${match.pathPrefix}`);
  if (match.pathRegex !== undefined) parts.push('path regex');
  for (const header of match.headers) {
    const value = 'value' in header ? ` ${header.value}` : '';
    parts.push(`header ${header.name}${header.invert ? ' not' : ''} ${header.kind}${value}`);
  }
  for (const param of match.queryParams) parts.push(`query ${param.name} ${param.kind}`);
  if (match.methods.length > 0) parts.push(`methods ${match.methods.join('|')}`);
  return parts.length === 0 ? 'any' : parts.join(', ');
}

/**
 * What a target's table is built from: a change of any of it means a new table. The id alone is
 * not enough: it is Consul's (untrusted) name for the target, and a chain that keeps an id while
 * changing its service or datacenter must not keep the old table's instances.
 */
export function targetKey(target: ChainTarget): string {
  return JSON.stringify([
    target.id,
    target.service,
    target.serviceSubset,
    target.namespace,
    target.partition,
    target.datacenter,
    target.filter.source,
    target.onlyPassing,
  ]);
}

/** Consul's filter on the watch, for a subset filter that must run on the full entry. */
function combinedFilter(own: string | undefined, subset: string): string {
  return own === undefined || own === '' ? subset : `(${own}) and (${subset})`;
}

/** The chain of one service and the routing tables of its targets. */
export class ChainRouting {
  private readonly watch: BlockingValue<DiscoveryChain>;
  private targets = new Map<string, Target>();
  private closed = false;
  /** Chains refused while building their targets (a registry refusal): logged once each. */
  private readonly buildFailures = new Set<string>();

  constructor(
    private readonly client: ServiceClient,
    private readonly registry: WatcherRegistry,
    source: TrafficSource,
    settings: TrafficWatchSettings,
    private readonly query: ServiceQueryOptions,
    private readonly logger: Logger,
    /** Whether this process may call `service` (`allowedServices`); a chain cannot widen it. */
    private readonly allows: (service: string) => boolean = () => true,
    /** Calls per target (`client_target_requests_total`); undefined without metrics. */
    private readonly targetMetrics?: ChainTargetMetrics,
    /** The settings the app configured for `service` (a target of another service). */
    private readonly settingsOf?: (service: string) => TargetOptions,
    /** The config-entry lists the chain reads by; without it (tests), a blocking watch of its own. */
    entries?: Pick<ConfigEntryIndex, 'followingRead'>,
  ) {
    const service = client.service;
    const datacenter = query.datacenter;
    const read = (index: number, waitMs: number, signal: AbortSignal) =>
      source
        .discoveryChain(
          service,
          { ...(index > 0 && { index, waitMs }), ...(datacenter !== undefined && { datacenter }) },
          { signal },
        )
        .then((answer) => ({ data: answer.data, index: answer.meta.index }));
    const { reserveBlocking, ...shared } = settings;
    this.watch = new BlockingValue<DiscoveryChain>({
      what: `discovery chain of '${service}'`,
      parse: parseDiscoveryChain,
      ...shared,
      ...(entries === undefined || datacenter !== undefined
        ? { read, ...(reserveBlocking !== undefined && { reserveBlocking }) }
        : { read: entries.followingRead((signal: AbortSignal) => read(0, 0, signal)) }),
    });
    this.watch.onChange((chain) => this.apply(chain));
  }

  start(): void {
    this.watch.start();
  }

  /**
   * Resolves once the chain answered and its local targets' watches too; throws
   * NoHealthyInstancesError when `signal` aborts first (a call must not go by the plain table).
   */
  async ready(signal: AbortSignal): Promise<void> {
    await this.watch.ready(signal);
    if (this.watch.value === undefined) {
      throw new NoHealthyInstancesError(
        this.client.service,
        'traffic management: its discovery chain had no answer from Consul in time',
        'discovery_timeout',
      );
    }
    await Promise.all(
      [...this.targets.values()]
        .filter((target) => target.local)
        .map((target) => target.lease.watcher.ready(signal)),
    );
  }

  /** The chain's watch state. */
  status(): BlockingValueStatus {
    return this.watch.status();
  }

  /** The admin view of `plan` and of the watch behind it. */
  private describe(plan: TrafficPlan<RoutingTable>): TrafficStatus {
    const watch = this.watch.status();
    const nodes = [...plan.chain.nodes.values()];
    const router = nodes.find((node) => node.type === 'router');
    const splitter = nodes.find((node) => node.type === 'splitter');
    return {
      index: watch.index,
      refused: watch.refused,
      lastRefusal: watch.lastRefusal ?? null,
      routes:
        router?.routes.map((route) => ({
          match: describeMatch(route.match),
          next: route.nextNode,
        })) ?? [],
      splits:
        splitter?.splits.map((split) => ({ weight: split.weight, next: split.nextNode })) ?? [],
      targets: [...plan.chain.targets.keys()].map((id) => ({
        id,
        instances: plan.table(id)?.instances().length ?? 0,
        failingOverTo: plan.failingOverTo(id) ?? null,
      })),
    };
  }

  /** The tables of the current targets, by target id. */
  tables(): ReadonlyMap<string, RoutingTable> {
    return new Map([...this.targets.values()].map((t) => [t.target.id, t.routing.table]));
  }

  /** Stops following the chain; the client goes back to its plain table. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.setTrafficPlan(undefined);
    this.targetMetrics?.close();
    const targets = [...this.targets.values()];
    this.targets = new Map();
    await this.watch.close();
    await Promise.all(targets.map((target) => this.drop(target)));
  }

  private apply(chain: DiscoveryChain): void {
    if (this.closed) return;
    const next = new Map<string, Target>();
    const made: Target[] = [];
    try {
      for (const target of chain.targets.values()) {
        // Peers are reached through mesh gateways, which a plain HTTP client does not have.
        if (target.peer !== '') continue;
        // Read here, a target of another namespace or partition would be our same-named service.
        if (!inChainTenancy(chain, target)) {
          this.warnOnce(
            `target '${target.id}' is in namespace '${target.namespace}' partition '${target.partition}', not the chain's`,
          );
          continue;
        }
        // A route, split or failover to a service the app did not allow gets no table: calls
        // there fail with NoHealthyInstancesError, failover skips it. Config entries are written
        // by whoever holds operator rights in Consul, not by this app.
        if (!this.allows(target.service)) {
          this.warnOnce(`target '${target.id}' names '${target.service}', outside allowedServices`);
          continue;
        }
        const key = targetKey(target);
        const kept = this.targets.get(key);
        if (kept !== undefined) {
          next.set(key, kept);
          continue;
        }
        const built = this.build(target, chain);
        made.push(built);
        next.set(key, built);
      }
    } catch (error) {
      // The last good plan stays; what was built for this chain is given back.
      for (const target of made) void this.drop(target);
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.buildFailures.has(reason)) {
        this.buildFailures.add(reason);
        this.logger.warn(
          { service: this.client.service, err: error },
          'express-consul: a discovery chain was refused; the last good one is kept',
        );
      }
      return;
    }
    const tables = new Map<string, RoutingTable>();
    for (const target of next.values()) tables.set(target.target.id, target.routing.table);
    const previous = this.targets;
    this.targets = next;
    const plan = this.targetMetrics?.plan(chain, tables) ?? new TrafficPlan(chain, tables);
    this.client.setTrafficPlan(plan, () => this.describe(plan));
    for (const [key, target] of previous) if (!next.has(key)) void this.drop(target);
  }

  private warnOnce(reason: string): void {
    if (this.buildFailures.has(reason)) return;
    this.buildFailures.add(reason);
    this.logger.warn(
      { service: this.client.service, reason },
      'express-consul: a discovery chain target was left out',
    );
  }

  private build(target: ChainTarget, chain: DiscoveryChain): Target {
    const local = target.datacenter === chain.datacenter;
    const runsHere = filtersLocally(target);
    // Another service's instances are read, called and chosen as the app configured that service
    // (its tag and filter, scheme and CA, pools, balancer, outlier detection), never with the
    // chain owner's settings: a redirect must not turn https into http, nor read the other
    // service by the owner's tag. The datacenter is always the target's.
    const settings =
      target.service.toLowerCase() === this.client.service.toLowerCase()
        ? undefined
        : this.settingsOf?.(target.service);
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the target's datacenter wins
    const { datacenter: _configured, ...base } = settings?.query ?? this.query;
    const datacenter = local ? this.query.datacenter : target.datacenter;
    const query: ServiceQueryOptions = {
      ...base,
      ...(datacenter !== undefined && { datacenter }),
      ...(runsHere ? {} : { filter: combinedFilter(base.filter, target.filter.source) }),
    };
    const lease = this.registry.acquire(target.service, query);
    const instances = new FilteredInstances(lease.watcher, subsetPredicate(target, runsHere));
    const routing = this.client.createTargetRouting(instances, target.id, settings);
    return { key: targetKey(target), target, lease, instances, routing, local };
  }

  private async drop(target: Target): Promise<void> {
    target.instances.close();
    await target.routing.close();
    await target.lease.release();
  }
}

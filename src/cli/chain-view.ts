// What `express-consul chain NAME` shows: a validated discovery chain (src/traffic/discovery-chain.ts)
// with the instance counts of its targets, turned into plain data in the order the library walks
// it. Pure: the counts are read by chain-command.ts; which target a resolver sends to now is the
// library's own TrafficPlan rule, run over those counts.
import { describeMatch } from '../client/chain-routing';
import type { ChainTarget, DiscoveryChain } from '../traffic/discovery-chain';
import { TrafficPlan } from '../traffic/traffic-plan';

/** How many instances of a target's subset Consul has, and how many routing would send to. */
export interface TargetCount {
  /** Instances routing would use now: not critical, valid, in the subset (OnlyPassing applied). */
  readonly healthy: number;
  /** Instances registered in the subset, whatever their health. */
  readonly total: number;
  /** Where the subset filter runs: on our instances (`library`), or by Consul (`consul`, `filter=`). */
  readonly filteredBy: 'library' | 'consul';
  /**
   * Why Consul could not be read for this target (another datacenter unreachable, ACLs), else
   * null; the counts are then 0, as the library has no instance of it either.
   */
  readonly unreadable: string | null;
}

/** One route of the router, in the order the library tries them (the catch-all last). */
export interface RouteView {
  /** The match in one line (`path prefix /api, header x-canary exact 1`), `any` for none. */
  readonly match: string;
  /** The node it leads to (`resolver:v2.web.default.default.dc1`). */
  readonly next: string;
  /** The route's RequestTimeout in ms; null when it sets none. */
  readonly timeoutMs: number | null;
  /** The route's NumRetries (attempts = 1 + n); 0 leaves the client's own. */
  readonly numRetries: number;
  readonly retryOnStatusCodes: readonly number[];
  readonly prefixRewrite: string | null;
}

/** One split of a splitter. */
export interface SplitView {
  /** Percent, 0 to 100. */
  readonly weight: number;
  readonly next: string;
}

/** One resolver: its target, its failover order, and where its calls go now. */
export interface ResolverView {
  readonly node: string;
  readonly target: string;
  /** Failover targets, tried in order when the target has no instance. */
  readonly failover: readonly string[];
  /** The resolver's RequestTimeout in ms; null when it sets none. */
  readonly timeoutMs: number | null;
  /** The target calls land on now: the resolver's own, a failover target, or null (none has any). */
  readonly landsOn: string | null;
  /** True when `landsOn` is a failover target. */
  readonly failingOver: boolean;
}

/** One target of the chain with its instance counts. */
export interface TargetView extends TargetCount {
  readonly id: string;
  readonly service: string;
  /** Subset name, `''` for the service's whole instance list. */
  readonly subset: string;
  /** The subset's filter expression as Consul sent it, `''` for none. */
  readonly filter: string;
  readonly onlyPassing: boolean;
  readonly datacenter: string;
  /** Peer name; the library cannot reach peers and routes no call there. */
  readonly peer: string;
}

/** The whole chain of one service, as the library would route by it. */
export interface ChainView {
  readonly service: string;
  readonly datacenter: string;
  readonly protocol: string;
  /** No config entry shapes the chain: calls take the plain path, the chain is not followed. */
  readonly isDefault: boolean;
  /** X-Consul-Index of the answer read; null when Consul sent none. */
  readonly index: number | null;
  readonly startNode: string;
  /** The router's routes in order; empty without a router. */
  readonly routes: readonly RouteView[];
  /** Splits of each splitter, by node key; empty without a splitter. */
  readonly splitters: readonly { readonly node: string; readonly splits: readonly SplitView[] }[];
  readonly resolvers: readonly ResolverView[];
  readonly targets: readonly TargetView[];
}

/**
 * The view of `chain` given its targets' counts (a target without a count is one the library
 * gives no table: a peer). `index` is the answer's X-Consul-Index.
 */
export function chainView(
  chain: DiscoveryChain,
  index: number | null,
  counts: ReadonlyMap<string, TargetCount>,
): ChainView {
  const tables = new Map(
    [...counts].map(([id, count]) => [id, { hasInstances: count.healthy > 0 }] as const),
  );
  const plan = new TrafficPlan(chain, tables);
  const nodes = [...chain.nodes.values()];
  const routes: RouteView[] = [];
  const splitters: { node: string; splits: SplitView[] }[] = [];
  const resolvers: ResolverView[] = [];
  for (const node of nodes) {
    if (node.type === 'router') {
      for (const route of node.routes) {
        const destination = route.destination;
        routes.push({
          match: describeMatch(route.match),
          next: route.nextNode,
          timeoutMs: destination?.requestTimeoutMs ?? null,
          numRetries: destination?.numRetries ?? 0,
          retryOnStatusCodes: destination?.retryOnStatusCodes ?? [],
          prefixRewrite: destination?.prefixRewrite ?? null,
        });
      }
    } else if (node.type === 'splitter') {
      splitters.push({
        node: node.key,
        splits: node.splits.map((split) => ({ weight: split.weight, next: split.nextNode })),
      });
    } else {
      const own = tables.get(node.target)?.hasInstances === true;
      const failoverTo = own ? undefined : plan.failingOverTo(node.target);
      resolvers.push({
        node: node.key,
        target: node.target,
        failover: node.failover?.targets ?? [],
        timeoutMs: node.requestTimeoutMs ?? null,
        landsOn: own ? node.target : (failoverTo ?? null),
        failingOver: failoverTo !== undefined,
      });
    }
  }
  return {
    service: chain.serviceName,
    datacenter: chain.datacenter,
    protocol: chain.protocol,
    isDefault: chain.isDefault,
    index,
    startNode: chain.startNode,
    routes,
    splitters,
    resolvers,
    targets: [...chain.targets.values()].map((target) => targetView(target, counts.get(target.id))),
  };
}

function targetView(target: ChainTarget, count: TargetCount | undefined): TargetView {
  return {
    id: target.id,
    service: target.service,
    subset: target.serviceSubset,
    filter: target.filter.source,
    onlyPassing: target.onlyPassing,
    datacenter: target.datacenter,
    peer: target.peer,
    healthy: count?.healthy ?? 0,
    total: count?.total ?? 0,
    filteredBy: count?.filteredBy ?? 'library',
    unreadable: count?.unreadable ?? null,
  };
}

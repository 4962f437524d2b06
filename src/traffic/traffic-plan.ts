// Where one request goes under a service's discovery chain: router (first matching route) ->
// splitter (weighted, or key-stable for a consistent-hash key) -> resolver (its target, or the
// first failover target with an instance when it has none). Pure over the chain and the targets'
// tables; the tables say whether they have an instance now.
import type { DiscoveryChain, ResolverNode, RouteDestination } from './discovery-chain';
import type { HeaderModifiers } from './header-modifiers';
import { matchRoute } from './route-match';
import type { RouteRequest } from './route-match';
import { chooseSplit, splitForKey } from './split';

/** What the plan needs of a target's routing table. */
export interface TargetTable {
  /** Whether the target has an instance to send to now. */
  readonly hasInstances: boolean;
}

/** The plan's answer for one request. */
export interface TrafficChoice<T extends TargetTable> {
  readonly table: T;
  /** The chosen target's id (`v2.web.default.default.dc1`). */
  readonly targetId: string;
  /** The resolver's own target had no instance and this is one of its failover targets. */
  readonly failedOver: boolean;
  /** The matched route's destination (its timeouts and retries), when a router chose it. */
  readonly destination: RouteDestination | undefined;
  /** The resolver's RequestTimeout, in ms, when it sets one. */
  readonly resolverTimeoutMs: number | undefined;
  /** The path to send: the request's, or with the route's PrefixRewrite applied. */
  readonly path: string;
  /**
   * Changes to the request's headers, in the order to apply them (the splits' passed through,
   * then the route's, as Envoy applies a weighted cluster's before its route's); undefined: none.
   */
  readonly requestHeaders: readonly HeaderModifiers[] | undefined;
  /** Changes to the response's headers, in the same order; undefined: none. */
  readonly responseHeaders: readonly HeaderModifiers[] | undefined;
}

/** Header changes collected along a request's way through the chain. */
interface HeaderChanges {
  request: HeaderModifiers[] | undefined;
  response: HeaderModifiers[] | undefined;
}

/**
 * Why the plan has no target for a request: no route of the router matches (Consul appends a
 * catch-all route, so only a hostile chain does that), or the chain sends it to a target this
 * client does not serve (another namespace, partition or peer, or a service outside
 * `allowedServices`: chain-routing.ts builds no table for those).
 */
export interface TrafficMiss {
  readonly miss: 'no_route' | 'target_not_served';
  /** The target the chain chose, for `target_not_served`. */
  readonly targetId: string | undefined;
}

const NO_ROUTE: TrafficMiss = Object.freeze({ miss: 'no_route', targetId: undefined });

/** Whether `choice` is a miss (`choose()`, or what is built from its choice, found no target). */
export function isTrafficMiss<C extends object>(choice: C | TrafficMiss): choice is TrafficMiss {
  return 'miss' in choice;
}

/** A miss in words, for the error a call fails with. */
export function describeTrafficMiss(miss: TrafficMiss): string {
  return miss.miss === 'no_route'
    ? 'no route of its service-router matches'
    : `its discovery chain sends the call to target '${miss.targetId}', which this client does not serve (another namespace, partition or peer, or a service outside allowedServices)`;
}

/** A chain with a table per target, answering `choose(request)`. */
export class TrafficPlan<T extends TargetTable> {
  constructor(
    readonly chain: DiscoveryChain,
    private readonly tables: ReadonlyMap<string, T>,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Where calls for target `id` go now: itself while it has instances, else the first failover
   * target (of a resolver resolving to it) that has some; undefined when none has.
   */
  failingOverTo(id: string): string | undefined {
    if (this.tables.get(id)?.hasInstances !== false) return undefined;
    for (const node of this.chain.nodes.values()) {
      if (node.type !== 'resolver' || node.target !== id || node.failover === undefined) continue;
      const to = node.failover.targets.find((t) => this.tables.get(t)?.hasInstances === true);
      if (to !== undefined) return to;
    }
    return undefined;
  }

  /** The table of target `id` (undefined for a target the chain does not name). */
  table(id: string): T | undefined {
    return this.tables.get(id);
  }

  /** The target for `request`, or why there is none (a TrafficMiss). */
  choose(request: RouteRequest, key: string | undefined): TrafficChoice<T> | TrafficMiss {
    const nodes = this.chain.nodes;
    let node = nodes.get(this.chain.startNode);
    let destination: RouteDestination | undefined;
    let path = request.url;
    const headers: HeaderChanges = { request: undefined, response: undefined };
    // The parser refused cycles and dangling keys; the bound only guards the loop.
    for (let hops = 0; node !== undefined && hops <= nodes.size; hops++) {
      if (node.type === 'resolver') return this.resolve(node, destination, path, headers);
      if (node.type === 'router') {
        const choice = matchRoute(node, request);
        if (choice === undefined) return NO_ROUTE;
        destination = choice.route.destination;
        // Envoy swaps the matched prefix, or the whole matched path of a PathExact route (the
        // query stays), for the rewrite; Consul allows PrefixRewrite with either.
        const prefix = choice.route.match?.pathPrefix ?? choice.route.match?.pathExact;
        const rewrite = destination?.prefixRewrite;
        if (prefix !== undefined && rewrite !== undefined && path.startsWith(prefix)) {
          // The rewrite is an origin-form path (the parser's rule); what follows the prefix is the
          // caller's, so `/` + `/evil.com/x` must not read as a network-path reference.
          path = (rewrite + path.slice(prefix.length)).replace(/^\/{2,}/, '/');
        }
        node = nodes.get(choice.route.nextNode);
        continue;
      }
      const split =
        key === undefined ? chooseSplit(node.splits, this.random) : splitForKey(node.splits, key);
      if (split === undefined) return NO_ROUTE;
      if (split.requestHeaders !== undefined) (headers.request ??= []).push(split.requestHeaders);
      if (split.responseHeaders !== undefined)
        (headers.response ??= []).push(split.responseHeaders);
      node = nodes.get(split.nextNode);
    }
    return NO_ROUTE;
  }

  private resolve(
    node: ResolverNode,
    destination: RouteDestination | undefined,
    path: string,
    headers: HeaderChanges,
  ): TrafficChoice<T> | TrafficMiss {
    const primary = this.tables.get(node.target);
    if (primary === undefined) return { miss: 'target_not_served', targetId: node.target };
    // The route's changes come after the splits': where both set a header, the route's is sent.
    let requestHeaders = headers.request;
    let responseHeaders = headers.response;
    if (destination?.requestHeaders !== undefined) {
      requestHeaders = [...(requestHeaders ?? []), destination.requestHeaders];
    }
    if (destination?.responseHeaders !== undefined) {
      responseHeaders = [...(responseHeaders ?? []), destination.responseHeaders];
    }
    const choice = {
      table: primary,
      targetId: node.target,
      failedOver: false,
      destination,
      resolverTimeoutMs: node.requestTimeoutMs,
      path,
      requestHeaders,
      responseHeaders,
    };
    if (!primary.hasInstances && node.failover !== undefined) {
      for (const id of node.failover.targets) {
        const table = this.tables.get(id);
        if (table?.hasInstances === true)
          return { ...choice, table, targetId: id, failedOver: true };
      }
    }
    return choice;
  }
}

import type { Dispatcher, Pool } from 'undici';
import type { InstanceStatus } from '../admin/status';
import type { Balancer } from '../balancer/balancer';
import type { ServiceInstance } from '../watch/service-instance';
import type { InstanceMetrics, ServiceMetrics } from '../metrics/express-consul-metrics';
import type { InstanceSource } from '../traffic/target-instances';
import type { AttemptLoad, AttemptResult } from './attempt';
import type { InstancePools } from './instance-pools';
import type { OutlierDetector } from './outlier-detector';
import { attemptMetricOutcome, isFailureStatus } from './request-outcome';

/**
 * Where a call can go: one instance with its pool, its bound metric children and, when the
 * balancer weighs load, the hooks that report each attempt's start and end to it.
 */
export interface Route {
  readonly instance: ServiceInstance;
  /** The instance's keep-alive pool (created on first use). */
  readonly pool: Dispatcher;
  /** Load reporting for least-request balancers; undefined when the balancer does not count. */
  readonly load: AttemptLoad | undefined;
}

class InstanceRoute implements Route {
  private dispatcher: Dispatcher | undefined;
  readonly load: AttemptLoad | undefined;

  constructor(
    readonly instance: ServiceInstance,
    private readonly pools: InstancePools,
    readonly metrics: InstanceMetrics | undefined,
    balancer: Balancer,
  ) {
    if (balancer.onRequestStart !== undefined && balancer.onRequestEnd !== undefined) {
      this.load = {
        start: () => balancer.onRequestStart?.(instance),
        end: (latencyMs, succeeded) => balancer.onRequestEnd?.(instance, latencyMs, succeeded),
      };
    }
  }

  get pool(): Dispatcher {
    return (this.dispatcher ??= this.pools.poolFor(this.instance));
  }

  /** The pool's counters, when it was ever used. */
  poolStats(): { running: number; pending: number } | undefined {
    const stats = (this.dispatcher as Pool | undefined)?.stats;
    return stats === undefined ? undefined : { running: stats.running, pending: stats.pending };
  }
}

/**
 * The routing state of one called service, in the order a request meets it: the watcher's healthy
 * instances → the outlier detector (ejected ones left out) → the balancer → a route per instance
 * (pool, metrics, load hooks). Every stateful part keys on the instance identity (`id`).
 */
export class RoutingTable {
  private readonly routes = new Map<string, InstanceRoute>();
  /** The watcher's list the routes were last brought in line with (sorted by id). */
  private listed: readonly ServiceInstance[] = [];
  /** The list the balancer currently holds (all instances, or the non-ejected ones). */
  private routed: readonly ServiceInstance[] = [];
  /** The detector's generation `routed` reflects. */
  private ejections = 0;
  private readonly unsubscribe: () => void;

  constructor(
    /** The service's watcher, or a chain target's subset of one. */
    private readonly watcher: InstanceSource,
    private readonly balancer: Balancer,
    private readonly pools: InstancePools,
    private readonly detector: OutlierDetector | undefined,
    private readonly metrics: ServiceMetrics | undefined,
  ) {
    this.unsubscribe = watcher.onChange(() => this.onInstancesChanged());
    this.onInstancesChanged();
  }

  /** The healthy instances discovery knows now. */
  instances(): readonly ServiceInstance[] {
    return this.watcher.instances();
  }

  /** Whether there is an instance to send to (a chain fails over when not). */
  get hasInstances(): boolean {
    return this.watcher.instances().length > 0;
  }

  /**
   * A route for a call: the balancer's choice among routable instances, or, for a retry that
   * excludes the ones already tried, another one; with nothing else left the balancer's plain
   * choice (trying the single remaining instance again beats failing). Undefined: no instance.
   */
  pick(key: string | undefined, tried: ReadonlySet<string> | undefined): Route | undefined {
    // Ejections and returns reach the balancer here, lazily: the detector runs no timers.
    if (this.detector !== undefined && this.detector.generation !== this.ejections) {
      this.updateRouting();
    }
    const balancer = this.balancer;
    let instance: ServiceInstance | undefined;
    if (tried === undefined) {
      instance = balancer.pick(key === undefined ? undefined : { key });
    } else {
      instance =
        balancer.pick(key === undefined ? { exclude: tried } : { key, exclude: tried }) ??
        balancer.pick(key === undefined ? undefined : { key });
    }
    return instance === undefined ? undefined : this.routeFor(instance);
  }

  /** Feeds one attempt's outcome to the outlier detector and the instance's metrics. */
  report(route: Route, outcome: AttemptResult): void {
    const { detector } = this;
    const metrics = (route as InstanceRoute).metrics;
    const id = route.instance.id;
    const status = outcome.kind === 'response' ? outcome.response.statusCode : undefined;
    const label = attemptMetricOutcome(outcome.kind, status);
    if (label !== undefined) metrics?.attempt(label);
    switch (outcome.kind) {
      case 'response':
        if (isFailureStatus(status as number)) detector?.recordFailure(id);
        else detector?.recordSuccess(id);
        return;
      case 'connect_failure':
      case 'reset':
      case 'try_timeout':
        detector?.recordFailure(id);
        return;
      // The call ran out of time (this instance may simply have been the last one tried), the
      // caller gave up, or the failure is not the instance's: the detector learns nothing.
      case 'deadline':
      case 'aborted':
      case 'transport_error':
        return;
    }
  }

  /** What routing sees of each instance now, for the admin view. */
  inspect(): InstanceStatus[] {
    const { balancer, detector } = this;
    return this.watcher.instances().map((instance) => {
      const route = this.routes.get(instance.id);
      const view = balancer.inspect?.(instance.id) ?? {};
      const stats = route?.poolStats();
      return {
        id: instance.id,
        serviceId: instance.serviceId,
        node: instance.node,
        address: instance.address,
        port: instance.port,
        health: instance.status,
        weight: instance.weight,
        inFlight: stats === undefined ? 0 : stats.running + stats.pending,
        latencyMs: view.latencyMs ?? null,
        ejectedForMs: Math.max(0, Math.round(detector?.status(instance.id)?.remainingMs ?? 0)),
        slowStartShare: view.share ?? null,
      };
    });
  }

  /** The balancer's name. */
  get balancerName(): string {
    return this.balancer.name;
  }

  /** Instances ejected by outlier detection now. */
  get ejectedCount(): number {
    return this.detector?.ejectedCount ?? 0;
  }

  /** Stops following the watcher and releases every instance's metric series. */
  close(): void {
    this.unsubscribe();
    for (const route of this.routes.values()) route.metrics?.release();
    this.routes.clear();
    this.listed = [];
  }

  /**
   * Brings the routes in line with the watcher's new list. Both lists are sorted by id and an
   * instance that did not change is the same object in both (the watcher shares it), so one merge
   * pass touches only the routes of instances that went or changed; a route is created when an
   * instance is first picked (see `routeFor`). At 10,000 instances the first answer no longer
   * builds 10,000 routes and metric children in one task, and a change of one touches one route.
   */
  private onInstancesChanged(): void {
    const all = this.watcher.instances();
    const before = this.listed;
    let j = 0;
    for (const instance of all) {
      while (j < before.length && before[j]!.id < instance.id) this.dropRoute(before[j++]!.id);
      const old = before[j];
      // Changed (address, weight, meta): its route holds the old object, and the next pick
      // makes a new one with the same metric children.
      if (old !== undefined && old.id === instance.id) j++;
    }
    while (j < before.length) this.dropRoute(before[j++]!.id);
    this.listed = all;
    this.pools.retain(all);
    this.detector?.retain(all.map((instance) => instance.id));
    this.updateRouting();
  }

  /**
   * The route of `instance`, created on first use; undefined when the watcher does not list that
   * object (a custom balancer that kept an old one): only listed instances get a pool.
   */
  private routeFor(instance: ServiceInstance): InstanceRoute | undefined {
    const kept = this.routes.get(instance.id);
    if (kept !== undefined && kept.instance === instance) return kept;
    if (!isListed(this.listed, instance)) return undefined;
    const route = new InstanceRoute(
      instance,
      this.pools,
      kept?.metrics ?? this.metrics?.instance(instance.id),
      this.balancer,
    );
    this.routes.set(instance.id, route);
    return route;
  }

  private dropRoute(id: string): void {
    this.routes.get(id)?.metrics?.release();
    this.routes.delete(id);
  }

  /** Gives the balancer the instances not ejected, when that set differs from what it holds. */
  private updateRouting(): void {
    const all = this.watcher.instances();
    const detector = this.detector;
    if (detector !== undefined) this.ejections = detector.generation;
    const routed = detector ? detector.eligible(all) : all;
    if (!sameMembers(routed, this.routed)) this.balancer.update(routed);
    // Keep the watcher's own array when nothing is ejected, so the comparison stays cheap.
    this.routed = routed.length === all.length ? all : routed;
  }
}

/** Whether `instance` is the object `list` (sorted by id) holds for its id: a binary search. */
function isListed(list: readonly ServiceInstance[], instance: ServiceInstance): boolean {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]!.id < instance.id) low = mid + 1;
    else high = mid;
  }
  return list[low] === instance;
}

function sameMembers(a: readonly ServiceInstance[], b: readonly ServiceInstance[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

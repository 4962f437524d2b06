import { ClosedError } from '../errors';
import { ServiceWatcher } from './service-watcher';
import type { HealthSource } from './service-watcher';
import {
  resolveServiceName,
  resolveServiceQuery,
  resolveWatcherRegistryOptions,
  SERVICE_QUERY_KEYS,
  serviceQueryKey,
  watcherOptionsFor,
} from './service-watcher-options';
import type {
  ResolvedWatcherRegistryOptions,
  ServiceQueryOptions,
} from './service-watcher-options';
import type { HealthServiceQuery } from '../consul/consul-types';
import { WatchScheduler } from './watch-scheduler';
import type { CheckStateSource, WatchLane, WatchSchedulerStatus } from './watch-scheduler';
import type { LanePlan } from '../consul/connection-budget';

/**
 * A source that can also watch every check and says how many connections the watches may use (a
 * ConsulClient): the registry then schedules its watches within that budget.
 */
type BudgetedSource = HealthSource &
  CheckStateSource & {
    readonly connectionBudget: { readonly watch: number };
    /** The lanes' shapes now (a ConsulClient's): how many blocking queries a connection carries. */
    readonly lanePlan?: LanePlan;
    onLanePlanChange?(listener: (plan: LanePlan) => void): () => void;
  };

function watchLane(plan: LanePlan): WatchLane {
  return {
    connections: plan.watch.connections + plan.poll.connections,
    pollConnections: plan.poll.connections,
    // Over HTTP/1.1 `pipelining` is the poll lane's business: a blocking connection carries one.
    streamsPerConnection: plan.protocol === 'h2' ? plan.watch.pipelining : 1,
  };
}

function isBudgeted(source: HealthSource): source is BudgetedSource {
  const candidate = source as Partial<BudgetedSource>;
  return (
    typeof candidate.healthStateAny === 'function' &&
    typeof candidate.connectionBudget?.watch === 'number'
  );
}

export type { WatcherRegistryOptions } from './service-watcher-options';

/** One caller's share of a watcher; release it when done instead of closing the watcher. */
export interface WatcherLease {
  /** The shared, started watcher. Do not `close()` it: other callers may be using it. */
  readonly watcher: ServiceWatcher;
  /** Gives the share back; the last release closes the watcher. Idempotent per lease. */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The query-shaping keys, from the one list that also validates them (service-watcher-options.ts). */
const QUERY_OPTION_KEYS = Object.keys(SERVICE_QUERY_KEYS) as readonly (keyof ServiceQueryOptions)[];

/** The query of a lease that names none: every default applied. */
const DEFAULT_QUERY = resolveServiceQuery({});

// Only the keyed fields may reach the watcher: anything else (a blocking `index` or `waitMs`)
// would make a shared watcher depend on which caller came first.
function pickQuery(query: Readonly<HealthServiceQuery>): Readonly<HealthServiceQuery> {
  const picked: Record<string, unknown> = {};
  for (const key of QUERY_OPTION_KEYS) {
    if (query[key] !== undefined) picked[key] = query[key];
  }
  return Object.freeze(picked);
}

interface Entry {
  readonly watcher: ServiceWatcher;
  leases: number;
}

/**
 * One watch per (service, query options) for the whole process: callers asking for the same
 * service with equal query options share a watcher (and so one blocking query on Consul).
 * Watchers are reference counted: created and started by the first `acquire`, closed by the last
 * `release`.
 */
export class WatcherRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly scheduler: WatchScheduler | undefined;
  private readonly unsubscribe: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  /**
   * `resolved` applies to every watcher the registry creates; it was resolved at the edge
   * (resolveWatcherRegistryOptions, or `discovery.watch` through watcherRegistryOptionsOf) and is
   * not validated again, here or by the watchers.
   */
  constructor(
    private readonly source: HealthSource,
    private readonly resolved: ResolvedWatcherRegistryOptions = resolveWatcherRegistryOptions(),
  ) {
    if (isBudgeted(source)) {
      const budgeted = source;
      this.scheduler = new WatchScheduler(source, {
        connections: source.connectionBudget.watch,
        ...(budgeted.lanePlan && { lane: () => watchLane(budgeted.lanePlan!) }),
        pollRatePerSecond: resolved.pollRatePerSecond,
        pollRefreshMs: resolved.pollRefreshMs,
        checkWatchIntervalMs: resolved.checkWatchIntervalMs,
        waitMs: resolved.waitMs,
        minUpdateIntervalMs: resolved.minUpdateIntervalMs,
        backoff: resolved.backoff,
        now: resolved.now,
        random: resolved.random,
        delay: resolved.delay,
        logger: resolved.logger,
      });
      const scheduler = this.scheduler;
      this.unsubscribe = source.onLanePlanChange?.(() => scheduler.replan());
    }
  }

  /** How the watches share the connection budget; undefined without a budgeted source. */
  schedulerStatus(): WatchSchedulerStatus | undefined {
    return this.scheduler?.status();
  }

  /**
   * Keeps one blocking query's room on the watch connections for a loop outside the registry (see
   * WatchScheduler.reserveBlocking); a no-op without a budgeted source. Returns the release.
   */
  reserveBlocking(): () => void {
    return this.scheduler?.reserveBlocking() ?? (() => {});
  }

  /** Number of live watchers (distinct service + query option pairs). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A lease on the shared watcher of `service` with this query, creating and starting it when none
   * exists. `query` is resolved (readServiceQuery's, as in ResolvedServiceClientOptions), with
   * every default applied: equal queries share a watcher. Throws ConfigError for an empty service
   * name and ClosedError after `close()`.
   */
  acquire(service: string, query: Readonly<HealthServiceQuery> = DEFAULT_QUERY): WatcherLease {
    if (this.closing) throw new ClosedError('WatcherRegistry');
    const name = resolveServiceName(service);
    const picked = pickQuery(query);
    const key = serviceQueryKey(name, picked);
    let entry = this.entries.get(key);
    if (!entry) {
      const watcher = new ServiceWatcher(
        this.source,
        name,
        watcherOptionsFor(this.resolved, picked),
      );
      const scheduler = this.scheduler;
      if (scheduler) {
        watcher.schedule(
          scheduler.register(
            name,
            picked.datacenter ?? '',
            () => watcher.useCount,
            () => watcher.lastIndex,
          ),
        );
        watcher.onError((event) => scheduler.noteFailure(event.error));
      }
      watcher.start();
      entry = { watcher, leases: 0 };
      this.entries.set(key, entry);
    }
    entry.leases += 1;
    const held = entry;
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => {
      released ??= this.release(key, held);
      return released;
    };
    return { watcher: held.watcher, release, [Symbol.asyncDispose]: release };
  }

  /** Closes every watcher and refuses new leases. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const watchers = [...this.entries.values()].map((entry) => entry.watcher);
      this.entries.clear();
      await Promise.all(watchers.map((watcher) => watcher.close()));
      this.unsubscribe?.();
      await this.scheduler?.close();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async release(key: string, entry: Entry): Promise<void> {
    entry.leases -= 1;
    if (entry.leases > 0) return;
    // Only forget the entry if it is still the registered one (close() may have cleared it).
    if (this.entries.get(key) === entry) this.entries.delete(key);
    await entry.watcher.close();
  }
}

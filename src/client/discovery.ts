import type { Response } from 'undici';
import type { UpstreamStatus } from '../admin/status';
import type { ConsulClient } from '../consul/consul-client';
import type { ConnectionBudget } from '../consul/connection-budget';
import type { WatcherLease } from '../watch/watcher-registry';
import { WatcherRegistry } from '../watch/watcher-registry';
import { watcherRegistryOptionsOf } from '../watch/service-watcher-options';
import { ClosedError, ConfigError, ServiceNotAllowedError, TooManyServicesError } from '../errors';
import type { Logger } from '../logger';
import type {
  DiscoveryReadings,
  ExpressConsulMetrics,
  ServiceMetrics,
} from '../metrics/express-consul-metrics';
import { chainTargetMetrics } from '../metrics/express-consul-metrics';
import type { ResolvedDiscoveryOptions } from './discovery-options';
import { toFetchResponse, toServiceRequest } from './discovery-fetch';
import type { DiscoveryFetchInit } from './discovery-fetch';
import { RetryBudget } from './retry-budget';
import { ServiceClient } from './service-client';
import type { ResolvedServiceClientOptions } from './service-client-options';
import { WatchSet } from './watch-set';
import { ConfigEntryIndex } from '../traffic/config-entry-index';
import type { TrafficWatchSettings } from '../traffic/config-entry-index';
import { ChainRouting } from './chain-routing';
import type { WatchSlot } from './watch-set';

/** What Discovery holds for one called service, and gives back when it is released. */
interface Called {
  readonly client: ServiceClient;
  readonly lease: WatcherLease;
  readonly metrics: ServiceMetrics | undefined;
  /** The key of its own retry budget in `budgets`; undefined when it shares a group's. */
  readonly ownBudget: string | undefined;
  readonly unsubscribers: readonly (() => void)[];
}

/** Longest service name a call may bring in, in characters: a DNS name's longest. */
const MAX_SERVICE_NAME_CHARS = 253;

/** Longest pause between two sweeps for idle services, in ms. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * Finds services by name and calls them: one shared Consul watch per service, one client (balancer,
 * pools, outlier detection, retry budget) per service. The set of called services is bounded
 * (`maxServices`, `allowedServices`) and services only `fetch()` used are released once idle
 * (`idleTimeoutMs`), since URL hosts often come from the app's own callers.
 */
export class Discovery {
  private readonly registry: WatcherRegistry;
  /** Retry budgets by `service:NAME` or `group:NAME`. */
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly called: WatchSet<Called>;
  /** Released clients whose pools still drain (a caller reading a body): destroy() cuts them too. */
  private readonly releasing = new Set<ServiceClient>();
  private readonly defaults: ResolvedServiceClientOptions;
  private readonly perService = new Map<string, ResolvedServiceClientOptions>();
  private readonly allowed: ReadonlySet<string> | undefined;
  private readonly maxServices: number;
  private readonly idleTimeoutMs: number;
  private readonly unsubscribers: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  /** Refusal reasons already logged: one line each, the metric counts the rest. */
  private readonly refusalsLogged = new Set<string>();
  private closing: Promise<void> | undefined;
  /** Which services have traffic-management entries; undefined when `trafficManagement` is off. */
  private readonly entryIndex: ConfigEntryIndex | undefined;
  private readonly trafficSettings: TrafficWatchSettings;
  /** The chain routing of each called service (by lower-cased name) that has entries. */
  private readonly chains = new Map<string, ChainRouting>();

  /**
   * `resolved` comes from {@link resolveDiscoveryOptions}, run once at the edge (`expressConsul()`,
   * `createDiscovery()`): nothing is validated again here.
   */
  constructor(
    private readonly consul: ConsulClient,
    resolved: ResolvedDiscoveryOptions,
    private readonly metrics: ExpressConsulMetrics | undefined,
    private readonly logger: Logger,
    /** Close `consul` with this object (when the caller made it for discovery alone). */
    private readonly ownsConsul = false,
  ) {
    this.defaults = resolved.defaults;
    for (const [name, own] of resolved.services) this.perService.set(name, own);
    this.allowed = resolved.allowedServices;
    this.maxServices = resolved.maxServices;
    this.idleTimeoutMs = resolved.idleTimeoutMs;
    this.called = new WatchSet({
      maxServices: resolved.maxServices,
      idleTimeoutMs: resolved.idleTimeoutMs,
      now: () => performance.now(),
    });
    this.registry = new WatcherRegistry(consul, watcherRegistryOptionsOf(resolved.watch, logger));
    this.trafficSettings = {
      waitMs: resolved.watch.waitMs,
      minUpdateIntervalMs: resolved.watch.minUpdateIntervalMs,
      backoff: resolved.watch.backoff,
      logger,
      // Traffic watches block on the watch lane: the scheduler's slots leave them room.
      reserveBlocking: () => this.registry.reserveBlocking(),
    };
    if (resolved.trafficManagement) {
      this.entryIndex = new ConfigEntryIndex(consul, this.trafficSettings);
      this.unsubscribers.push(this.entryIndex.onChange(() => this.followEntries()));
      this.entryIndex.start();
    }
    if (metrics) {
      this.unsubscribers.push(metrics.addReadings(this.readings()));
      this.unsubscribers.push(consul.onThrottled((lane) => metrics.consulThrottled(lane)));
    }
  }

  /**
   * The client of `name`, created on first use and shared afterwards. The caller may keep it, so
   * it stays for the life of this Discovery (it counts against `maxServices`). Throws
   * ServiceNotAllowedError or TooManyServicesError (nothing sent to Consul), ClosedError.
   */
  service(name: string): ServiceClient {
    const slot = this.slotOf(name, 'service');
    this.called.pin(slot);
    return slot.value.client;
  }

  /**
   * fetch() with a service name as host: `discovery.fetch('http://payments/charge', { method: 'POST' })`.
   * Resolves with a WHATWG Response; rejects with the typed errors of ServiceClient.request, or
   * ServiceNotAllowedError / TooManyServicesError before anything reaches Consul.
   */
  async fetch(input: string | URL, init?: DiscoveryFetchInit): Promise<Response> {
    const { service, request } = toServiceRequest(input, init);
    const slot = this.slotOf(service, 'url');
    // Counted from here, synchronously, so no sweep can release the client under this call.
    this.called.begin(slot);
    try {
      return toFetchResponse(await slot.value.client.request(request));
    } finally {
      this.called.end(slot);
    }
  }

  /**
   * The slot of `name`: found, or made (after the length rule, the allowlist and the cap) with a
   * new client. `path` names where the name came from in a ConfigError.
   */
  private slotOf(name: string, path: 'url' | 'service'): WatchSlot<Called> {
    if (this.closing) throw new ClosedError('Discovery');
    // A URL host may be any length; held as a map key, a metric label and a Consul path for as
    // long as it is watched, so no longer than a DNS name can be.
    if (typeof name !== 'string') throw new ConfigError(path, 'a service name', name);
    if (name.length > MAX_SERVICE_NAME_CHARS) {
      throw new ConfigError(
        path,
        path === 'url'
          ? `a URL whose host (the service name) has at most ${MAX_SERVICE_NAME_CHARS} characters`
          : `a service name of at most ${MAX_SERVICE_NAME_CHARS} characters`,
        name,
      );
    }
    // Consul matches service names without regard to case, and URL hosts arrive lower-cased.
    const key = name.toLowerCase();
    const found = this.called.get(key);
    if (found) return found;
    const own = this.perService.get(key);
    if (own === undefined && this.allowed !== undefined && !this.allowed.has(key)) {
      throw this.refuse(new ServiceNotAllowedError(name), 'not_allowed');
    }
    const room = own === undefined ? this.called.makeRoom() : undefined;
    if (room?.kind === 'full') {
      throw this.refuse(new TooManyServicesError(name, this.maxServices), 'too_many_services');
    }
    const called = this.create(key, name, own ?? this.defaults);
    // Released only once the new client exists: a name the registry refuses evicts nothing.
    if (room?.kind === 'evict') this.release(room.slot);
    const slot = this.called.add(key, called, own === undefined ? 'on-demand' : 'configured');
    if (slot.residency === 'on-demand') this.startSweeping();
    return slot;
  }

  private create(key: string, name: string, options: ResolvedServiceClientOptions): Called {
    const lease = this.registry.acquire(name, options.query);
    const metrics = this.metrics?.forService(name);
    const ownBudget = options.retryBudgetGroup === undefined ? `service:${key}` : undefined;
    let client: ServiceClient;
    try {
      client = new ServiceClient(lease, options, {
        budget: this.budgetFor(key, options),
        metrics,
        logger: this.logger,
      });
    } catch (error) {
      // Nothing may stay behind a client that was never handed out.
      void lease.release();
      metrics?.release();
      if (ownBudget !== undefined) this.budgets.delete(ownBudget);
      throw error;
    }
    const index = this.entryIndex;
    if (index !== undefined) {
      // The first call must not go by the plain table while the service's chain is unknown.
      client.waitAlsoFor(async (signal) => {
        await index.whenReady(name, signal);
        this.followEntries();
        await this.chains.get(key)?.ready(signal);
      });
    }
    const called = {
      client,
      lease,
      metrics,
      ownBudget,
      unsubscribers: this.followWatch(client, metrics),
    };
    if (index?.has(key) === true) this.followChain(key, client, options);
    return called;
  }

  /** Brings the chain routings in line with the services that have entries now. */
  private followEntries(): void {
    const index = this.entryIndex;
    if (index === undefined || this.closing) return;
    for (const slot of this.called.values()) {
      const client = slot.value.client;
      const key = client.service.toLowerCase();
      const has = index.has(key);
      const chain = this.chains.get(key);
      if (has && chain === undefined) {
        this.followChain(key, client, this.perService.get(key) ?? this.defaults);
      } else if (!has && chain !== undefined) {
        this.dropChain(key);
      }
    }
  }

  private followChain(
    key: string,
    client: ServiceClient,
    options: ResolvedServiceClientOptions,
  ): void {
    if (this.chains.has(key)) return;
    const chain = new ChainRouting(
      client,
      this.registry,
      this.consul,
      this.trafficSettings,
      options.query,
      this.logger,
      (service) => {
        const name = service.toLowerCase();
        return this.allowed === undefined || this.allowed.has(name) || this.perService.has(name);
      },
      this.metrics && chainTargetMetrics(this.metrics, client.service),
      (service) => this.perService.get(service.toLowerCase()) ?? this.defaults,
      this.entryIndex,
    );
    this.chains.set(key, chain);
    chain.start();
  }

  private dropChain(key: string): void {
    const chain = this.chains.get(key);
    if (chain === undefined) return;
    this.chains.delete(key);
    chain.close().catch((error: unknown) => {
      this.logger.warn({ service: key, err: error }, 'closing a discovery chain failed');
    });
  }

  /**
   * Lets go of a service: gone from the set at once (the next call makes a new client), its watch
   * lease, metric series and own retry budget given back now; its pools close once the bodies
   * callers still read are done, so a slow reader keeps a pool, never the watch or the series.
   */
  private release(slot: WatchSlot<Called>): void {
    this.called.delete(slot);
    const { client, lease, metrics, ownBudget, unsubscribers } = slot.value;
    this.dropChain(client.service.toLowerCase());
    for (const unsubscribe of unsubscribers) unsubscribe();
    if (ownBudget !== undefined) this.budgets.delete(ownBudget);
    this.releasing.add(client);
    const closed = client.close();
    // After close() began: the routing table no longer follows the watcher it is about to lose.
    void lease.release();
    metrics?.release();
    closed
      .catch((error: unknown) => {
        this.logger.warn(
          { service: client.service, err: error },
          'closing a released client failed',
        );
      })
      .finally(() => this.releasing.delete(client));
  }

  /** Releases the services idle for `idleTimeoutMs`; stops the sweep when none is left to watch. */
  private sweep(): void {
    for (const slot of this.called.idle()) this.release(slot);
    if (!this.called.hasReleasable) this.stopSweeping();
  }

  // One timer for the whole set, never one per call; released within a quarter of the timeout late.
  private startSweeping(): void {
    if (this.sweeper !== undefined || this.idleTimeoutMs === 0) return;
    const everyMs = Math.min(Math.max(this.idleTimeoutMs / 4, 25), MAX_SWEEP_INTERVAL_MS);
    this.sweeper = setInterval(() => this.sweep(), everyMs);
    this.sweeper.unref();
  }

  private stopSweeping(): void {
    if (this.sweeper === undefined) return;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Counts a refusal, logs the first of each kind (a flood of names must not flood the log). */
  private refuse<E extends ServiceNotAllowedError | TooManyServicesError>(
    error: E,
    reason: 'too_many_services' | 'not_allowed',
  ): E {
    this.metrics?.serviceRefused(reason);
    if (!this.refusalsLogged.has(reason)) {
      this.refusalsLogged.add(reason);
      this.logger.warn(
        { option: error.option, err: error },
        `service refused (${reason}); later refusals are only counted in discovery_refused_total`,
      );
    }
    return error;
  }

  /**
   * The retry budget of a service: its own, as Envoy keeps one per cluster, so a failing
   * dependency cannot spend every other's retries; or the one its `retryBudgetGroup` shares.
   */
  private budgetFor(key: string, options: ResolvedServiceClientOptions): RetryBudget {
    const shareKey =
      options.retryBudgetGroup === undefined
        ? `service:${key}`
        : `group:${options.retryBudgetGroup}`;
    let budget = this.budgets.get(shareKey);
    if (budget === undefined) {
      budget = new RetryBudget(options.retryBudget);
      this.budgets.set(shareKey, budget);
    }
    return budget;
  }

  /** The admin view of every service this process calls now (released ones are not listed). */
  status(): UpstreamStatus[] {
    return [...this.called.values()].map((slot) => slot.value.client.status());
  }

  /** Closes every client and watch; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopSweeping();
      for (const unsubscribe of this.unsubscribers) unsubscribe();
      const slots = [...this.called.values()];
      this.called.clear();
      for (const { value } of slots) {
        for (const unsubscribe of value.unsubscribers) unsubscribe();
        value.metrics?.release();
      }
      const chains = [...this.chains.values()];
      this.chains.clear();
      await Promise.all([
        ...chains.map((chain) => chain.close()),
        this.entryIndex?.close(),
        ...[...this.releasing].map((client) => client.close()),
      ]);
      await this.registry.close();
      if (this.ownsConsul) await this.consul.close();
    })();
    return this.closing;
  }

  /**
   * Cuts every outbound connection now (in-flight calls fail), then closes like close(): what a
   * drain does when its deadline passes while upstream bodies are still open.
   */
  async destroy(): Promise<void> {
    const clients = [...this.called.values()].map((slot) => slot.value.client);
    clients.push(...this.releasing);
    const closing = this.close();
    await Promise.all(clients.map((client) => client.destroy()));
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private followWatch(client: ServiceClient, metrics: ServiceMetrics | undefined): (() => void)[] {
    if (!metrics) return [];
    const watcher = client.watcher;
    let resetsSeen = watcher.status().indexResets;
    const countResets = (): void => {
      const resets = watcher.status().indexResets;
      if (resets > resetsSeen) metrics.indexReset(resets - resetsSeen);
      resetsSeen = resets;
    };
    return [
      watcher.onChange(() => {
        metrics.watchUpdated();
        countResets();
      }),
      watcher.onError(() => {
        metrics.watchFailed();
        countResets();
      }),
      watcher.onInvalidInstance((event) => {
        metrics.invalidInstance(event.reason);
      }),
    ];
  }

  private readings(): DiscoveryReadings {
    const called = this.called;
    const registry = this.registry;
    // A source without a budget (a stand-in for Consul in tests) has no scheduler either.
    const configured = (this.consul.connectionBudget as ConnectionBudget | undefined)?.watch ?? 0;
    return {
      watchBudget() {
        const status = registry.schedulerStatus();
        return (
          status && {
            configured,
            allowed: status.connections,
            slotted: status.slotted,
            polled: status.polled,
          }
        );
      },
      *services() {
        for (const { value } of called.values()) {
          const client = value.client;
          const instances = client.instances();
          const warning = instances.filter((instance) => instance.status === 'warning').length;
          yield {
            service: client.service,
            healthy: instances.length - warning,
            warning,
            ejected: client.ejectedCount,
            stalenessSeconds: client.watcher.status().stalenessMs / 1000,
          };
        }
      },
    };
  }
}

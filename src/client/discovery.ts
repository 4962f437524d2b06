import type { Response } from 'undici';
import type { UpstreamStatus } from '../admin/status';
import type { ConsulClient } from '../consul/consul-client';
import { WatcherRegistry } from '../discovery/watcher-registry';
import { ClosedError } from '../errors';
import type { Logger } from '../logger';
import type { DiscoveryReadings, ExpressConsulMetrics } from '../metrics/express-consul-metrics';
import { resolveDiscoveryOptions } from './discovery-options';
import type { DiscoveryOptions } from './discovery-options';
import { toFetchResponse, toServiceRequest } from './discovery-fetch';
import type { DiscoveryFetchInit } from './discovery-fetch';
import { RetryBudget } from './retry-budget';
import { ServiceClient } from './service-client';
import type { ResolvedServiceClientOptions } from './service-client-options';

/**
 * Finds services by name and calls them: one shared Consul watch per service, one client (balancer,
 * pools, outlier detection, retry budget) per service.
 */
export class Discovery {
  private readonly registry: WatcherRegistry;
  /** Retry budgets by `service:NAME` or `group:NAME`. */
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly clients = new Map<string, ServiceClient>();
  private readonly defaults: ResolvedServiceClientOptions;
  private readonly perService = new Map<string, ResolvedServiceClientOptions>();
  private readonly unsubscribers: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  /** Validates every option at once (ConfigError names the field under `discovery.`). */
  constructor(
    private readonly consul: ConsulClient,
    options: DiscoveryOptions,
    private readonly metrics: ExpressConsulMetrics | undefined,
    private readonly logger: Logger,
    /** Close `consul` with this object (when the caller made it for discovery alone). */
    private readonly ownsConsul = false,
  ) {
    const resolved = resolveDiscoveryOptions(options);
    this.defaults = resolved.defaults;
    for (const [name, own] of resolved.services) this.perService.set(name, own);
    this.registry = new WatcherRegistry(consul, { ...resolved.watch, logger }, 'discovery.watch');
    if (metrics) this.unsubscribers.push(metrics.addReadings(this.readings()));
  }

  /** The client of `name`, created on first use and shared afterwards. */
  service(name: string): ServiceClient {
    if (this.closing) throw new ClosedError('Discovery');
    // Consul matches service names without regard to case, and URL hosts arrive lower-cased.
    const key = name.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      const options = this.perService.get(key) ?? this.defaults;
      const lease = this.registry.acquire(name, options.query);
      client = new ServiceClient(lease, options, {
        budget: this.budgetFor(key, options),
        metrics: this.metrics?.forService(name),
        logger: this.logger,
      });
      this.clients.set(key, client);
      this.followWatch(client);
    }
    return client;
  }

  /**
   * fetch() with a service name as host: `discovery.fetch('http://payments/charge', { method: 'POST' })`.
   * Resolves with a WHATWG Response; rejects with the typed errors of ServiceClient.request.
   */
  async fetch(input: string | URL, init?: DiscoveryFetchInit): Promise<Response> {
    const { service, request } = toServiceRequest(input, init);
    return toFetchResponse(await this.service(service).request(request));
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

  /** The admin view of every service this process calls. */
  status(): UpstreamStatus[] {
    return [...this.clients.values()].map((client) => client.status());
  }

  /** Closes every client and watch; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const unsubscribe of this.unsubscribers) unsubscribe();
      await Promise.all([...this.clients.values()].map((client) => client.close()));
      this.clients.clear();
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
    const closing = this.close();
    await Promise.all([...this.clients.values()].map((client) => client.destroy()));
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private followWatch(client: ServiceClient): void {
    const metrics = this.metrics;
    if (!metrics) return;
    const watcher = client.discovery;
    let resetsSeen = watcher.status().indexResets;
    const countResets = (): void => {
      const resets = watcher.status().indexResets;
      if (resets > resetsSeen) metrics.indexReset(client.service, resets - resetsSeen);
      resetsSeen = resets;
    };
    this.unsubscribers.push(
      watcher.onChange(() => {
        metrics.watchUpdated(client.service);
        countResets();
      }),
      watcher.onError(() => {
        metrics.watchFailed(client.service);
        countResets();
      }),
      watcher.onInvalidInstance((event) => {
        metrics.invalidInstance(client.service, event.reason);
      }),
    );
  }

  private readings(): DiscoveryReadings {
    const clients = this.clients;
    return {
      *services() {
        for (const client of clients.values()) {
          const instances = client.instances();
          const warning = instances.filter((instance) => instance.status === 'warning').length;
          yield {
            service: client.service,
            healthy: instances.length - warning,
            warning,
            ejected: client.ejectedCount,
            stalenessSeconds: client.discovery.status().stalenessMs / 1000,
          };
        }
      },
    };
  }
}

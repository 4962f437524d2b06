import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Application } from 'express';
import { resolveOptions } from '../config/resolve-options';
import type { ResolvedOptions } from '../config/resolve-options';
import type { ExpressConsulOptions } from '../config/options';
import type { RequestHandler } from 'express';
import type { Response } from 'undici';
import { Discovery } from '../client/discovery';
import type { DiscoveryFetchInit } from '../client/discovery-fetch';
import type { ServiceClient } from '../client/service-client';
import { ConsulClient } from '../consul/consul-client';
import { ExpressConsulMetrics } from '../metrics/express-consul-metrics';
import { metricsHandler } from '../metrics/metrics-handler';
import { statusHandler } from '../admin/status-handler';
import type { AdapterStatus } from '../admin/status';
import { ClosedError, InvalidStateError } from '../errors';
import { chooseServiceAddress } from '../registration/service-address';
import { generateServiceId } from '../registration/service-id';
import { dnsSafeServiceName, isDnsSafeServiceName } from '../registration/service-name';
import { ServiceRegistration, errorSummary } from '../registration/service-registration';
import { delay } from '../resilience/delay';
import { ConnectionTracker } from './connection-tracker';
import { healthRoute } from './health-route';
import { installSignalHandlers } from './signal-handlers';

/** Lifecycle of the adapter. */
export type ExpressConsulState = 'created' | 'starting' | 'running' | 'draining' | 'closed';

/**
 * Wires an Express app into Consul: mounts the health route at construction, registers once the
 * server listens, heals the registration, and drains on close() or SIGTERM/SIGINT.
 */
export class ExpressConsul {
  /** The typed Consul client this adapter uses (shares its connection pool). */
  readonly consul: ConsulClient;
  /** This instance's registration. */
  readonly registration: ServiceRegistration;
  /** Finds and calls other services; also reachable through `service()` and `fetch()`. */
  readonly discovery: Discovery;
  /** The metrics, or undefined when `metrics: false`. */
  readonly metrics: ExpressConsulMetrics | undefined;
  private readonly config: ResolvedOptions;
  private lifecycle: ExpressConsulState = 'created';
  private server: Server | undefined;
  private tracker: ConnectionTracker | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly app: Application,
    options: ExpressConsulOptions,
  ) {
    this.config = resolveOptions(options);
    const { service, health, logger } = this.config;
    if (!isDnsSafeServiceName(service.name)) {
      logger.warn(
        { service: service.name, dnsSafe: dnsSafeServiceName(service.name) },
        `service name '${service.name}' cannot be resolved through Consul DNS; '${dnsSafeServiceName(service.name)}' could`,
      );
    }
    this.consul = new ConsulClient(this.config.consul);
    this.metrics =
      this.config.metrics === false
        ? undefined
        : new ExpressConsulMetrics(this.config.metrics.registry, this.config.metrics.prefix);
    try {
      this.discovery = new Discovery(this.consul, options.discovery ?? {}, this.metrics, logger);
    } catch (error) {
      // Bad discovery options: nothing was sent yet, but the idle pool must not outlive us.
      void this.consul.close().catch(() => undefined);
      throw error;
    }
    this.registration = new ServiceRegistration(
      this.consul,
      {
        name: service.name,
        id: service.id ?? generateServiceId(service.name),
        tags: service.tags,
        meta: service.meta,
        weights: service.weights,
        healthPath: health.path,
        check: service.check,
        ...this.config.registration,
      },
      logger,
    );
    this.followForMetrics(service.name);
    this.app.get(
      health.path,
      healthRoute(health.indicators, health.indicatorTimeoutMs, () => this.isDraining),
    );
  }

  /** Where the adapter is in its life. */
  get state(): ExpressConsulState {
    return this.lifecycle;
  }

  /** The HTTP server once listening or attached. */
  get httpServer(): Server | undefined {
    return this.server;
  }

  /** Requests being served right now. */
  get inFlightRequests(): number {
    return this.tracker?.inFlight ?? 0;
  }

  /** The client that calls `name`, shared by every caller in this process. */
  service(name: string): ServiceClient {
    return this.discovery.service(name);
  }

  /** fetch() with a service name as host: `consul.fetch('http://payments/charge')`. */
  fetch(input: string | URL, init?: DiscoveryFetchInit): Promise<Response> {
    return this.discovery.fetch(input, init);
  }

  /** An Express handler serving the metrics registry: `app.get('/metrics', consul.metricsHandler())`. */
  metricsHandler(): RequestHandler {
    if (!this.metrics)
      throw new InvalidStateError('metricsHandler(): metrics are off (metrics: false)');
    return metricsHandler(this.metrics.registry);
  }

  /**
   * An Express handler answering, as JSON, what this service's balancers see of every service it
   * calls (instances, health, weight, in flight, latency estimate, ejection, slow start, retry
   * budget, staleness) and its own registration state, like Envoy's `/clusters`. Never mounted by
   * default: mount it where only operators reach it. Holds no token.
   */
  statusHandler(): RequestHandler {
    return statusHandler(() => this.status());
  }

  /** The admin view as data (what {@link statusHandler} serves). */
  status(): AdapterStatus {
    return {
      service: {
        name: this.config.service.name,
        id: this.registration.serviceId,
        state: this.lifecycle,
        registration: this.registration.state,
      },
      upstreams: this.discovery.status(),
    };
  }

  private get isDraining(): boolean {
    return this.lifecycle === 'draining' || this.lifecycle === 'closed';
  }

  /**
   * Starts `app` listening (port 0 picks a free port) and registers it. Resolves with the server once
   * Consul has the registration, or once the attempt failed for a reason that may heal (Consul down).
   */
  async listen(port = 0, host?: string): Promise<Server> {
    this.assertUsable();
    const server = host === undefined ? this.app.listen(port) : this.app.listen(port, host);
    try {
      await this.attach(server);
    } catch (error) {
      // We opened this server; a failed start must not leave it holding the port.
      server.close();
      throw error;
    }
    return server;
  }

  /** Registers a server the caller created; waits for it to listen first if needed. */
  async attach(server: Server): Promise<void> {
    this.assertUsable();
    if (this.server) throw new InvalidStateError('attach(): already attached to a server');
    this.server = server;
    this.lifecycle = 'starting';
    this.tracker = new ConnectionTracker(server);
    if (!server.listening) {
      // Both waits end together, so no listener (and no late rejection) outlives this call.
      const done = new AbortController();
      try {
        await Promise.race([
          once(server, 'listening', { signal: done.signal }),
          once(server, 'error', { signal: done.signal }).then(([error]) =>
            Promise.reject(error as Error),
          ),
        ]);
      } finally {
        done.abort();
      }
    }
    const bound = server.address() as AddressInfo | null;
    if (!bound || typeof bound !== 'object')
      throw new Error('express-consul: the server is not bound to a TCP port');
    const endpoint = {
      address: chooseServiceAddress(this.config.service.address, bound, this.consul.origin),
      port: this.config.service.port ?? bound.port,
    };
    if (this.config.shutdown.handleSignals) {
      this.removeSignalHandlers = installSignalHandlers(
        this.config.shutdown.signals,
        () => this.close(),
        this.config.logger,
      );
    }
    try {
      await this.registration.start(endpoint);
    } catch (error) {
      this.removeSignalHandlers?.();
      this.removeSignalHandlers = undefined;
      this.tracker.detach();
      this.tracker = undefined;
      this.server = undefined;
      this.lifecycle = 'created';
      throw error;
    }
    if (this.lifecycle === 'starting') this.setLifecycle('running');
  }

  /**
   * Drains: leaves Consul (deregister or maintenance), waits the propagation delay so callers'
   * watchers notice, stops accepting, lets in-flight requests finish until the drain deadline, closes
   * idle keep-alive sockets, then releases every resource. Idempotent: later calls share the first.
   */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async drain(): Promise<void> {
    const { shutdown, logger } = this.config;
    const startedAt = Date.now();
    this.setLifecycle('draining');
    this.removeSignalHandlers?.();
    this.removeSignalHandlers = undefined;
    try {
      if (shutdown.mode === 'maintenance' && this.registration.state === 'registered') {
        await this.registration
          .setMaintenance(true, 'draining for shutdown')
          .catch((error: unknown) => {
            logger.warn({ err: errorSummary(error) }, 'could not enter maintenance mode');
          });
      } else {
        await this.registration.deregister();
      }
      if (this.server) {
        await delay(Math.max(0, startedAt + shutdown.propagationDelayMs - Date.now()));
        const result = await this.tracker!.drain(startedAt + shutdown.drainTimeoutMs);
        if (result.abandonedRequests > 0) {
          logger.warn(
            { abandoned: result.abandonedRequests },
            'drain deadline passed; cut in-flight requests',
          );
        }
      }
      if (shutdown.mode === 'maintenance') await this.registration.deregister();
    } finally {
      await this.discovery.close();
      await this.consul.close();
      this.setLifecycle('closed');
      logger.info({ drainMs: Date.now() - startedAt }, 'drained and closed');
    }
  }

  private setLifecycle(state: ExpressConsulState): void {
    this.lifecycle = state;
    if (state === 'running' || state === 'draining' || state === 'closed') {
      this.metrics?.drainChanged(this.config.service.name, state);
    }
  }

  private followForMetrics(service: string): void {
    const metrics = this.metrics;
    if (!metrics) return;
    const states = ['idle', 'registering', 'registered', 'deregistering', 'deregistered'] as const;
    this.registration.onStateChange((state) => metrics.registrationChanged(service, state, states));
    this.registration.onReregister(() => metrics.reregistered(service));
  }

  private assertUsable(): void {
    if (this.closing) throw new ClosedError('ExpressConsul');
  }
}

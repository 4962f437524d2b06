import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Application } from 'express';
import { resolveAdapterOptions } from './resolve-adapter-options';
import type { ResolvedAdapterOptions } from './resolve-adapter-options';
import type { ExpressConsulOptions } from './express-consul-options';
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
import { ClosedError, ConfigError, InvalidStateError } from '../errors';
import { resolveServiceAddress } from '../registration/service-address';
import { generateServiceId } from '../registration/service-id';
import { dnsSafeServiceName, isDnsSafeServiceName } from '../registration/service-name';
import { REGISTRATION_STATES } from '../registration/registration-state';
import { ServiceRegistration } from '../registration/service-registration';
import { delay } from '../resilience/delay';
import { ConnectionTracker } from './connection-tracker';
import { healthRoute } from './health-route';
import { HealthEvaluator } from '../health/health-evaluator';
import { installSignalHandlers } from './signal-handlers';
import { runDrain } from './drain';
import type { DrainPhase } from './drain';
import { ShutdownHooks } from './shutdown-hooks';
import type { ShutdownHook } from './shutdown-hooks';
import { ControlPlane } from '../leader/control-plane';
import type { ConsulConfig } from '../kv/consul-config';
import type { ConsulConfigOptions } from '../kv/config-options';
import type { ConsulLock } from '../leader/consul-lock';
import type { LockOptions } from '../leader/lock-options';
import type { LeaderElection, LeaderOptions } from '../leader/leader-election';

/** Time the process has to end after the drain deadline before the signal handler ends it, in ms. */
const EXIT_GRACE_MS = 750;

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
  private readonly settings: ResolvedAdapterOptions;
  private lifecycle: ExpressConsulState = 'created';
  private server: Server | undefined;
  private tracker: ConnectionTracker | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly hooks = new ShutdownHooks();
  private readonly controlPlane: ControlPlane;

  constructor(
    private readonly app: Application,
    options: ExpressConsulOptions,
  ) {
    this.settings = resolveAdapterOptions(options);
    const { service, health, logger } = this.settings;
    if (!isDnsSafeServiceName(service.name)) {
      logger.warn(
        { service: service.name, dnsSafe: dnsSafeServiceName(service.name) },
        `service name '${service.name}' cannot be resolved through Consul DNS; '${dnsSafeServiceName(service.name)}' could`,
      );
    }
    this.consul = new ConsulClient(this.settings.consul);
    this.metrics =
      this.settings.metrics === false
        ? undefined
        : new ExpressConsulMetrics(this.settings.metrics.registry, this.settings.metrics.prefix);
    try {
      this.discovery = new Discovery(this.consul, this.settings.discovery, this.metrics, logger);
    } catch (error) {
      // Nothing was sent yet, but the idle pool must not outlive us.
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
        ...this.settings.registration,
      },
      logger,
    );
    this.followForMetrics(service.name);
    this.controlPlane = new ControlPlane(this.consul, {
      serviceName: service.name,
      serviceId: () => this.registration.serviceId,
      metrics: this.settings.metrics === false ? undefined : this.settings.metrics,
      logger,
    });
    this.app.get(
      health.path,
      healthRoute(
        new HealthEvaluator(health.indicators, health.indicatorTimeoutMs, logger),
        () => this.isDraining,
      ),
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
        name: this.settings.service.name,
        id: this.registration.serviceId,
        state: this.lifecycle,
        registration: this.registration.state,
      },
      upstreams: this.discovery.status(),
      ...this.controlPlane.status(),
    };
  }

  // --- Consul as the control plane: KV configuration, leader election, locks ---

  /**
   * A typed configuration value following Consul KV (`key`: a JSON/YAML document, or a prefix with
   * `format: 'tree'`), validated by `schema` (any Standard Schema). Starts at once; await `ready()`.
   * Closed by the drain. Needs `key:read` on the key.
   */
  config<T = unknown>(key: string, options?: ConsulConfigOptions<T>): ConsulConfig<T> {
    this.assertUsable();
    return this.controlPlane.config(key, options);
  }

  /**
   * Leader election among this service's instances on the key `service/NAME/leader/ELECTION`,
   * through a session bound to this instance's health check and its node's `serfHealth`.
   * `onElected(signal)` runs on election; `signal` aborts as soon as leadership may be lost. The
   * drain resigns first (before deregistering), so another instance takes over at once. Contending
   * starts at once (retried until the service is registered and passing). Needs `session:write`
   * and `key:write` on the key.
   */
  leader(name: string, options: LeaderOptions): LeaderElection {
    this.assertUsable();
    return this.controlPlane.leader(name, options);
  }

  /** A lock on `key` held through a session bound to this instance's health; released by the drain. */
  lock(key: string, options?: LockOptions): ConsulLock {
    this.assertUsable();
    return this.controlPlane.lock(key, options);
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

  /**
   * Registers a server the caller created (http or https); waits for it to listen first if needed.
   * On any failure (listen error, no TCP address, registration refused) everything is undone: the
   * state is `created` again, no listener stays on the server or the process, and it may be retried.
   */
  async attach(server: Server): Promise<void> {
    this.assertUsable();
    if (this.server) throw new InvalidStateError('attach(): already attached to a server');
    this.server = server;
    this.lifecycle = 'starting';
    this.tracker = new ConnectionTracker(server);
    try {
      await this.start(server);
    } catch (error) {
      // A drain that began meanwhile owns the server and its tracker from here on.
      if (!this.closing) this.rollBack();
      throw error;
    }
    if (this.lifecycle === 'starting') this.setLifecycle('running');
  }

  /**
   * Adds work to run during the drain, after in-flight requests have finished and before outbound
   * connections close: hooks run one after another in the order they were added, each with a
   * signal that aborts at the drain deadline. A hook that throws or overruns is logged and the
   * drain goes on. Use this rather than a SIGTERM listener of your own. Returns the remover.
   */
  onShutdown(hook: ShutdownHook): () => void {
    if (typeof hook !== 'function')
      throw new ConfigError('onShutdown', 'a function (signal) => Promise<void> | void', hook);
    return this.hooks.add(hook);
  }

  private async start(server: Server): Promise<void> {
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
    if (this.closing) throw new ClosedError('ExpressConsul');
    const bound = server.address() as AddressInfo | null;
    if (!bound || typeof bound !== 'object')
      throw new InvalidStateError('attach(): the server is not bound to a TCP port');
    const { service, shutdown, logger } = this.settings;
    const advertised = await resolveServiceAddress(
      { explicit: service.address, bound, consulOrigin: this.consul.origin },
      logger,
    );
    if (this.closing) throw new ClosedError('ExpressConsul');
    const endpoint = {
      address: advertised.address,
      checkAddress: advertised.checkAddress,
      port: service.port ?? bound.port,
      // Consul must speak TLS to a TLS server (https.Server is a tls.Server), or its check fails.
      scheme: service.check.scheme ?? (server instanceof TlsServer ? 'https' : 'http'),
    } as const;
    if (shutdown.handleSignals) {
      this.removeSignalHandlers = installSignalHandlers(
        shutdown.signals,
        () => this.close(),
        logger,
        { exitAfterMs: shutdown.drainTimeoutMs + EXIT_GRACE_MS },
      );
    }
    await this.registration.start(endpoint);
  }

  private rollBack(): void {
    this.removeSignalHandlers?.();
    this.removeSignalHandlers = undefined;
    this.tracker?.detach();
    this.tracker = undefined;
    this.server = undefined;
    this.lifecycle = 'created';
  }

  /**
   * Drains in phases under one deadline (`shutdown.drainTimeoutMs` from now): leaves Consul
   * (deregister or maintenance), waits the propagation delay so callers' watchers notice, stops
   * accepting and lets in-flight requests finish (idle keep-alive sockets close at once), runs the
   * onShutdown hooks, then closes outbound pools and the Consul client. If the deadline passes
   * first, outbound pools are destroyed and sockets cut instead. Idempotent: later calls share the first.
   */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async drain(): Promise<void> {
    const { shutdown, logger } = this.settings;
    const startedAt = Date.now();
    this.setLifecycle('draining');
    const maintenance = shutdown.mode === 'maintenance';
    const phases: DrainPhase[] = [
      // First: deregistering invalidates the sessions bound to our check, and Consul then keeps
      // their locks for the lock delay; released before, another instance takes over at once.
      { name: 'release-leadership', run: () => this.controlPlane.close() },
      {
        name: 'leave-consul',
        run: () =>
          maintenance && this.registration.state === 'registered'
            ? this.registration.setMaintenance(true, 'draining for shutdown')
            : this.registration.deregister(),
      },
      {
        name: 'propagation-delay',
        run: (signal) =>
          delay(Math.max(0, startedAt + shutdown.propagationDelayMs - Date.now()), signal),
      },
      { name: 'in-flight-requests', run: (signal) => this.finishRequests(signal) },
      { name: 'shutdown-hooks', run: (signal) => this.hooks.run(signal, logger) },
      ...(maintenance ? [{ name: 'deregister', run: () => this.registration.deregister() }] : []),
      {
        name: 'close-outbound',
        run: async () => {
          try {
            await this.discovery.close();
          } finally {
            await this.consul.close();
          }
        },
      },
    ];
    try {
      const report = await runDrain(
        {
          timeoutMs: shutdown.drainTimeoutMs,
          phases,
          atDeadline: async (signal) => {
            // Pools still closing wait for bodies nobody may ever read: destroy them, and cut sockets.
            try {
              await Promise.all([this.tracker?.drain(signal), this.discovery.destroy()]);
            } finally {
              await this.consul.close();
            }
          },
        },
        logger,
      );
      logger.info(
        { drainMs: Date.now() - startedAt, deadlineReached: report.deadlineReached },
        'drained and closed',
      );
    } finally {
      this.setLifecycle('closed');
      // Kept until now so that a signal during a close() of the app's waits for this drain, then
      // ends the process; after a signal they stay until the process ends (signal-handlers.ts).
      this.removeSignalHandlers?.();
      this.removeSignalHandlers = undefined;
    }
  }

  private async finishRequests(signal: AbortSignal): Promise<void> {
    if (!this.tracker) return;
    const { abandonedRequests } = await this.tracker.drain(signal);
    if (abandonedRequests > 0) {
      this.settings.logger.warn(
        { abandoned: abandonedRequests },
        'drain deadline passed; cut in-flight requests',
      );
    }
  }

  private setLifecycle(state: ExpressConsulState): void {
    this.lifecycle = state;
    if (state === 'running' || state === 'draining' || state === 'closed') {
      this.metrics?.drainChanged(this.settings.service.name, state);
    }
  }

  private followForMetrics(service: string): void {
    const metrics = this.metrics;
    if (!metrics) return;
    this.registration.onStateChange((state) =>
      metrics.registrationChanged(service, state, REGISTRATION_STATES),
    );
    this.registration.onReregister(() => metrics.reregistered(service));
  }

  private assertUsable(): void {
    if (this.closing) throw new ClosedError('ExpressConsul');
  }
}

import { register as globalRegistry } from 'prom-client';
import type { Registry } from 'prom-client';
import { DEFAULTS } from '../config/defaults';
import type { ConsulClient } from '../consul/consul-client';
import { resolveConsulConfigOptions } from '../kv/config-options';
import type { ConsulConfigOptions } from '../kv/config-options';
import { ConsulConfig } from '../kv/consul-config';
import type { ConfigStatus } from '../kv/consul-config';
import { controlPlaneMetrics } from '../kv/kv-metrics';
import type { ControlPlaneMetrics } from '../kv/kv-metrics';
import type { Logger } from '../logger';
import { ConfigError } from '../errors';
import { OptionReader } from '../config/option-reader';
import { ConsulLock } from './consul-lock';
import { LeaderElection } from './leader-election';
import type { LeaderOptions, LeaderStatus } from './leader-election';
import { readLockOptions } from './lock-options';
import type { LockOptions } from './lock-options';

/** What the adapter tells the control plane about itself. */
export interface ControlPlaneContext {
  readonly serviceName: string;
  /** This instance's service id (its check is `service:ID:http`). */
  readonly serviceId: () => string;
  readonly metrics:
    { readonly registry: Registry | undefined; readonly prefix: string } | undefined;
  readonly logger: Logger;
}

/** The admin view's part for configurations and elections. */
export interface ControlPlaneStatus {
  readonly configs: readonly ConfigStatus[];
  readonly leaders: readonly LeaderStatus[];
}

/**
 * The configurations, elections and locks of one ExpressConsul, so that its drain closes them in
 * the right order: elections and locks first (released while our check still exists), then configs.
 */
export class ControlPlane {
  private readonly configs = new Set<ConsulConfig<unknown>>();
  private readonly elections = new Map<string, LeaderElection>();
  private readonly locks = new Set<ConsulLock>();
  private readonly metrics: ControlPlaneMetrics | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: ConsulClient,
    private readonly context: ControlPlaneContext,
  ) {
    this.metrics = context.metrics
      ? controlPlaneMetrics(context.metrics.registry ?? globalRegistry, context.metrics.prefix)
      : undefined;
  }

  config<T>(key: string, options?: ConsulConfigOptions<T>): ConsulConfig<T> {
    const resolved = resolveConsulConfigOptions<T>(key, options, 'config');
    const config = new ConsulConfig<T>(this.client, resolved, this.context.logger, this.metrics);
    this.configs.add(config as ConsulConfig<unknown>);
    config.start();
    return config;
  }

  leader(name: string, options: LeaderOptions): LeaderElection {
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.onElected !== 'function'
    ) {
      throw new ConfigError(
        'leader.onElected',
        'a function (signal) => void | Promise<void>',
        options?.onElected,
      );
    }
    const reader = OptionReader.strict<LeaderOptions>(options, 'leader', {
      onElected: true,
      lockDelayMs: true,
    });
    const lockOptions = reader.has('lockDelayMs') ? { lockDelayMs: options.lockDelayMs } : {};
    const key = `${DEFAULTS.leader.keyPrefix}/${this.context.serviceName}/leader/${name}`;
    if (this.elections.has(key))
      throw new ConfigError('leader.name', 'a name not already in use', name);
    const lock = this.newLock(
      key,
      lockOptions,
      'leader',
      `leader ${name} of ${this.context.serviceName}`,
    );
    const election = new LeaderElection(name, lock, options, this.context.logger, this.metrics);
    this.elections.set(key, election);
    election.start();
    return election;
  }

  lock(key: string, options?: LockOptions): ConsulLock {
    const lock = this.newLock(key, options, 'lock', `lock ${key}`);
    this.locks.add(lock);
    return lock;
  }

  status(): ControlPlaneStatus {
    return {
      configs: [...this.configs].map((config) => config.status()),
      leaders: [...this.elections.values()].map((election) => election.status()),
    };
  }

  /** Resigns every election, releases every lock, then closes every config; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([
        ...[...this.elections.values()].map((election) => election.close()),
        ...[...this.locks].map((lock) => lock.close()),
      ]);
      await Promise.allSettled([...this.configs].map((config) => config.close()));
    })();
    return this.closing;
  }

  private newLock(key: string, options: unknown, path: string, sessionName: string): ConsulLock {
    const checked = readLockOptions(key, options, path);
    const serviceId = this.context.serviceId();
    return new ConsulLock(
      this.client,
      {
        key: checked.key,
        lockDelayMs: checked.lockDelayMs,
        sessionName: `express-consul ${sessionName}`,
        nodeChecks: ['serfHealth'],
        // The check ServiceRegistration registers for this instance.
        serviceChecks: [`service:${serviceId}:http`],
        holder: { service: this.context.serviceName, id: serviceId },
        retry: DEFAULTS.leader.retry,
      },
      this.context.logger,
    );
  }
}

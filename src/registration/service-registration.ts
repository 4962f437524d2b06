import { ListenerSet } from '../events/listener-set';
import type { Listener } from '../events/listener-set';
import { AbortedError, ClosedError, ConsulAclError, ConsulResponseError } from '../errors';
import { errorSummary } from '../error-summary';
import type { ConsulClient } from '../consul/consul-client';
import type { AgentServiceRegistration } from '../consul/consul-types';
import type { ResolvedOptions } from '../config/resolve-options';
import type { Logger } from '../logger';
import { Backoff } from '../resilience/backoff';
import { delay } from '../resilience/delay';

import type { RegistrationState } from './registration-state';

export type { RegistrationState } from './registration-state';

/** Everything the registration needs to know, already validated. */
export interface RegistrationSpec {
  readonly name: string;
  readonly id: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly weights: { readonly passing: number; readonly warning: number } | undefined;
  readonly healthPath: string;
  readonly check: ResolvedOptions['service']['check'];
  readonly watchWaitMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** The network endpoint to advertise, known once the server listens. */
export interface AdvertisedEndpoint {
  /** The registration's `Address`; `''` leaves it to Consul: the node's address. */
  readonly address: string;
  /** Host the agent's HTTP check dials. Default: `address`. */
  readonly checkAddress?: string;
  readonly port: number;
  /** How Consul's check reaches the health route: `https` for a TLS server. Default: `http`. */
  readonly scheme?: 'http' | 'https';
}

/** A Go duration string Consul parses, in whole seconds where exact (the UI shows it as is). */
const goDuration = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;

/**
 * Registers one service instance with the local Consul agent and keeps it registered: it follows
 * its own registration with hash-based blocking queries and registers again, under the same id,
 * when the agent no longer has it (a restarted dev agent forgets everything).
 */
export class ServiceRegistration {
  private currentState: RegistrationState = 'idle';
  private endpoint: AdvertisedEndpoint | undefined;
  private body: AgentServiceRegistration | undefined;
  private maintenanceReason: string | undefined;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly stateListeners: ListenerSet<RegistrationState>;
  private readonly reregisterListeners: ListenerSet<number>;
  private reregistrations = 0;

  constructor(
    private readonly client: ConsulClient,
    private readonly spec: RegistrationSpec,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    const context = { serviceId: spec.id };
    this.stateListeners = new ListenerSet('registration state listener', () => logger, context);
    this.reregisterListeners = new ListenerSet('re-registration listener', () => logger, context);
  }

  /** Consul's id of this instance. */
  get serviceId(): string {
    return this.spec.id;
  }

  get state(): RegistrationState {
    return this.currentState;
  }

  /** True while maintenance mode is on (Consul routes no traffic here). */
  get inMaintenance(): boolean {
    return this.maintenanceReason !== undefined;
  }

  /** How many times the agent lost us and we registered again. */
  get reregistrationCount(): number {
    return this.reregistrations;
  }

  /** The body sent to Consul (holds no token), once known. */
  get registration(): Readonly<AgentServiceRegistration> | undefined {
    return this.body;
  }

  /** Subscribes to state changes; returns the unsubscriber. */
  onStateChange(listener: Listener<RegistrationState>): () => void {
    return this.stateListeners.add(listener);
  }

  /** Subscribes to self-healing re-registrations (argument: total count); returns the unsubscriber. */
  onReregister(listener: Listener<number>): () => void {
    return this.reregisterListeners.add(listener);
  }

  /**
   * Registers at `endpoint` and starts following the registration. Rejects on ACL or validation
   * errors (they will not heal); when the agent is merely unreachable it resolves and keeps trying
   * in the background, so an outage of Consul never stops the service from starting.
   */
  async start(endpoint: AdvertisedEndpoint): Promise<void> {
    if (this.stop.signal.aborted) throw new ClosedError('ServiceRegistration');
    if (this.loop) return;
    this.endpoint = endpoint;
    this.body = this.buildBody(endpoint);
    this.setState('registering');
    try {
      await this.client.registerService(this.body, { signal: this.stop.signal });
      this.setState('registered');
      this.logger.info({ serviceId: this.spec.id, ...endpoint }, 'registered with Consul');
    } catch (error) {
      if (error instanceof ConsulAclError || error instanceof ConsulResponseError) {
        this.setState('idle');
        throw error;
      }
      if (error instanceof AbortedError) return;
      this.logger.warn(
        { serviceId: this.spec.id, err: errorSummary(error) },
        'Consul unreachable at start-up; registration will be retried in the background',
      );
    }
    this.loop = this.followRegistration();
  }

  /** Turns maintenance mode on (Consul marks the instance critical) or off. */
  async setMaintenance(enable: boolean, reason = 'express-consul maintenance'): Promise<void> {
    this.maintenanceReason = enable ? reason : undefined;
    if (this.currentState !== 'registered') return;
    await this.client.setServiceMaintenance(this.spec.id, enable, reason, {
      signal: this.stop.signal,
    });
  }

  /** Stops following and removes the instance from Consul; idempotent. */
  async deregister(): Promise<void> {
    if (this.stop.signal.aborted) {
      await this.loop;
      return;
    }
    this.stop.abort();
    await this.loop;
    if (this.currentState === 'idle') {
      this.setState('deregistered');
      return;
    }
    this.setState('deregistering');
    try {
      await this.client.deregisterService(this.spec.id);
      this.logger.info({ serviceId: this.spec.id }, 'deregistered from Consul');
    } catch (error) {
      // Not fatal: Consul reaps the instance after deregisterCriticalAfterMs once its check fails.
      this.logger.warn(
        { serviceId: this.spec.id, err: errorSummary(error) },
        'deregistration failed',
      );
    }
    this.setState('deregistered');
  }

  /** Same as deregister(). */
  async close(): Promise<void> {
    await this.deregister();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async followRegistration(): Promise<void> {
    const backoff = new Backoff(
      { baseMs: this.spec.retryBaseMs, maxMs: this.spec.retryMaxMs },
      this.random,
    );
    const signal = this.stop.signal;
    let hash: string | undefined;
    while (!signal.aborted) {
      try {
        const found = await this.client.getAgentService(this.spec.id, {
          signal,
          ...(hash !== undefined && { hash, waitMs: this.spec.watchWaitMs }),
        });
        if (found) {
          hash = found.contentHash;
          if (this.currentState !== 'registered') this.setState('registered');
        } else {
          hash = undefined;
          await this.registerAgain(signal);
        }
        backoff.reset();
      } catch (error) {
        if (signal.aborted) break;
        hash = undefined;
        const waitMs = backoff.nextDelayMs();
        this.logger.warn(
          {
            serviceId: this.spec.id,
            err: errorSummary(error),
            retryInMs: waitMs,
            attempt: backoff.attempt,
          },
          'cannot confirm registration with Consul; retrying',
        );
        await delay(waitMs, signal).catch(() => undefined);
      }
    }
  }

  private async registerAgain(signal: AbortSignal): Promise<void> {
    if (!this.body) return;
    const wasRegistered = this.currentState === 'registered';
    this.setState('registering');
    await this.client.registerService(this.body, { signal });
    if (this.maintenanceReason !== undefined) {
      await this.client.setServiceMaintenance(this.spec.id, true, this.maintenanceReason, {
        signal,
      });
    }
    this.setState('registered');
    if (wasRegistered) {
      this.reregistrations += 1;
      this.logger.warn(
        { serviceId: this.spec.id },
        'the Consul agent had lost this service; registered again',
      );
      this.reregisterListeners.emit(this.reregistrations);
    } else {
      this.logger.info({ serviceId: this.spec.id, ...this.endpoint }, 'registered with Consul');
    }
  }

  private buildBody(endpoint: AdvertisedEndpoint): AgentServiceRegistration {
    const checkAddress = endpoint.checkAddress ?? endpoint.address;
    const host = checkAddress.includes(':') ? `[${checkAddress}]` : checkAddress;
    const { check } = this.spec;
    const scheme = endpoint.scheme ?? 'http';
    return {
      Name: this.spec.name,
      ID: this.spec.id,
      Address: endpoint.address,
      Port: endpoint.port,
      Tags: [...this.spec.tags],
      Meta: { ...this.spec.meta },
      ...(this.spec.weights && {
        Weights: { Passing: this.spec.weights.passing, Warning: this.spec.weights.warning },
      }),
      Check: {
        CheckID: `service:${this.spec.id}:http`,
        Name: `HTTP ${this.spec.healthPath}`,
        HTTP: `${scheme}://${host}:${endpoint.port}${this.spec.healthPath}`,
        Method: 'GET',
        Interval: goDuration(check.intervalMs),
        Timeout: goDuration(check.timeoutMs),
        DeregisterCriticalServiceAfter: goDuration(check.deregisterCriticalAfterMs),
        // Redirects would let a compromised service steer the agent's requests (CVE-2022-29153).
        DisableRedirects: true,
        ...(scheme === 'https' && !check.tls.verify && { TLSSkipVerify: true }),
        ...(scheme === 'https' &&
          check.tls.serverName !== undefined && { TLSServerName: check.tls.serverName }),
        ...(check.successBeforePassing !== undefined && {
          SuccessBeforePassing: check.successBeforePassing,
        }),
        ...(check.failuresBeforeCritical !== undefined && {
          FailuresBeforeCritical: check.failuresBeforeCritical,
        }),
      },
    };
  }

  private setState(state: RegistrationState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateListeners.emit(state);
  }
}

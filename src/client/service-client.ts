import type { IncomingHttpHeaders } from 'node:http';
import type { TrafficStatus, UpstreamStatus } from '../admin/status';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ServiceInstance } from '../watch/service-instance';
import type { ServiceWatcher } from '../watch/service-watcher';
import type { WatcherLease } from '../watch/watcher-registry';
import {
  AbortedError,
  ClosedError,
  NoHealthyInstancesError,
  RetriesExhaustedError,
  UpstreamError,
} from '../errors';
import type { Logger } from '../logger';
import type { ServiceMetrics } from '../metrics/express-consul-metrics';
import { Backoff } from '../resilience/backoff';
import { startDeadline } from '../resilience/deadline';
import { delay } from '../resilience/delay';
import { attempt } from './attempt';
import type { AttemptRequest, AttemptResult } from './attempt';
import { InstancePools } from './instance-pools';
import { OutlierDetector } from './outlier-detector';
import type { RetryBudget } from './retry-budget';
import { answeredOutcome, failedOutcome, retryLabel } from './request-outcome';
import { answersAtOnce, decideRetry } from './retry-decision';
import type { RetryInput } from './retry-decision';
import { callFailure } from './call-failure';
import { chainDestination, plainDestination } from './call-destination';
import type { CallDestination } from './call-destination';
import { parseRetryAfterMs } from './retry-policy';
import { checkRequestInput } from './request-input';
import { RoutingTable } from './routing-table';
import { modifyHeaders } from '../traffic/header-modifiers';
import { describeTrafficMiss, isTrafficMiss } from '../traffic/traffic-plan';
import type { TrafficMiss, TrafficPlan } from '../traffic/traffic-plan';
import type { RouteRetryPolicy } from '../traffic/route-retry';
import type { InstanceSource } from '../traffic/target-instances';
import { relayOf } from './signal-relay';
import type { Route } from './routing-table';
import type { ResolvedServiceClientOptions } from './service-client-options';

/** One outbound call to a service, by name. */
export interface ServiceRequest {
  /** HTTP method. Default: GET. */
  readonly method?: string;
  /** Path with query string, starting with '/'. Default: '/'. */
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** A string or bytes can be replayed on retry; a stream never is. */
  readonly body?: string | Uint8Array | Readable | null;
  /** Cancels the call at once (rejects with AbortedError). */
  readonly signal?: AbortSignal;
  /** Per-attempt time limit until response headers, in ms. Default: the client's `timeoutMs`. */
  readonly timeoutMs?: number;
  /** Whole-call time limit for this call, in ms. Default: the client's `deadlineMs`. */
  readonly deadlineMs?: number;
  /** true: safe to repeat even if the method is not idempotent; false: never retry. */
  readonly retryable?: boolean;
  /** Sent as `Idempotency-Key`; lets a non-idempotent request be retried. */
  readonly idempotencyKey?: string;
  /** Stickiness key for the consistent-hash balancer. */
  readonly key?: string;
}

/** The answer of a call: status, headers, the body to consume, and where it came from. */
export interface ServiceResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** undici's body: `await body.json()`, `.text()`, or stream it. Consume or `dump()` it. */
  readonly body: Dispatcher.ResponseData['body'];
  /** The instance that answered. */
  readonly instance: ServiceInstance;
  /** Attempts made, this one included. */
  readonly attempts: number;
}

/** What a client shares with others: its retry budget, metrics and logger. */
export interface ServiceClientContext {
  /** This service's retry budget (its own, or its group's). */
  readonly budget: RetryBudget;
  readonly metrics: ServiceMetrics | undefined;
  readonly logger: Logger;
  /** Uniform source in [0, 1) for the retry backoff's jitter. Default: Math.random. */
  readonly random?: () => number;
}

const GET = 'GET';

/**
 * How a chain target's instances are reached and chosen: the settings the app configured for the
 * target's service (its scheme and TLS, pools, balancer, outlier detection), as Envoy sends a
 * route to another service to that service's cluster. A chain routing to another service must not
 * call it with ours (plain http where it is https, our balancer). The call's own settings (per-try
 * timeout, deadline, attempts, retry rule) stay the calling service's.
 */
export type TargetSettings = Pick<
  ResolvedServiceClientOptions,
  | 'scheme'
  | 'tls'
  | 'connectionsPerInstance'
  | 'keepAliveTimeoutMs'
  | 'bodyTimeoutMs'
  | 'connectTimeoutMs'
  | 'balancer'
  | 'outlierDetection'
>;

/** A chain target's own routing table with the pools behind it; closed when the target goes. */
export interface TargetRouting {
  readonly table: RoutingTable;
  /** Stops following its instances; its pools close once in-flight bodies end. Idempotent. */
  close(): Promise<void>;
}

/**
 * Calls one service by name: the routing table picks a healthy, non-ejected instance, the attempt
 * goes through that instance's keep-alive pool, and one decision (`decideRetry`) says whether a
 * failure is retried on another instance, after a jittered backoff, within the per-try timeout,
 * the call's deadline, `maxAttempts` and the retry budget. An empty instance list fails at once.
 */
export class ServiceClient {
  readonly service: string;
  private readonly table: RoutingTable;
  private readonly pools: InstancePools;
  /** The watcher behind this client (shared with other clients of the same service). */
  readonly watcher: ServiceWatcher;
  private readonly metrics: ServiceMetrics | undefined;
  private readonly disposers: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  private discoveryAnswered = false;
  /**
   * The discovery chain's plan when the service has traffic-management entries; undefined keeps
   * the plain path (one table), at no cost but this field's read per call.
   */
  private plan: TrafficPlan<RoutingTable> | undefined;
  /** What else the first call waits for (the chain, when the service has one). */
  private alsoReady: ((signal: AbortSignal) => Promise<void>) | undefined;
  private trafficStatus: (() => TrafficStatus) | undefined;
  /** Pools of chain targets, cut by destroy(). */
  private readonly targetPools = new Set<InstancePools>();

  constructor(
    private readonly lease: WatcherLease,
    private readonly options: ResolvedServiceClientOptions,
    private readonly context: ServiceClientContext,
  ) {
    this.watcher = lease.watcher;
    this.service = this.watcher.service;
    this.metrics = context.metrics;
    this.pools = this.newPools();
    this.table = this.newTable(this.watcher, this.pools, this.disposers, undefined);
    this.disposers.push(() => this.table.close());
  }

  /**
   * A routing table of its own (balancer, outlier detector, pools) for one chain target, sharing
   * this client's retry budget, metrics and options. Used by the chain routing of the service.
   */
  createTargetRouting(
    source: InstanceSource,
    targetId: string,
    settings: TargetSettings = this.options,
  ): TargetRouting {
    const pools = this.newPools(settings);
    const disposers: (() => void)[] = [];
    const table = this.newTable(source, pools, disposers, targetId, settings);
    this.targetPools.add(pools);
    let closing: Promise<void> | undefined;
    return {
      table,
      close: () => {
        closing ??= (async () => {
          for (const dispose of disposers) dispose();
          table.close();
          await pools.close();
          this.targetPools.delete(pools);
        })();
        return closing;
      },
    };
  }

  /** Routes later calls by `plan` (undefined: back to the plain table); `status` feeds the admin view. */
  setTrafficPlan(plan: TrafficPlan<RoutingTable> | undefined, status?: () => TrafficStatus): void {
    this.plan = plan;
    this.trafficStatus = plan === undefined ? undefined : status;
  }

  /** The plan calls follow now; undefined when the service has no traffic-management entries. */
  get trafficPlan(): TrafficPlan<RoutingTable> | undefined {
    return this.plan;
  }

  /** Makes the first call wait (within `readyTimeoutMs`) for `ready` too: the chain's first answer. */
  waitAlsoFor(ready: (signal: AbortSignal) => Promise<void>): void {
    this.alsoReady = ready;
  }

  private newPools(settings: TargetSettings = this.options): InstancePools {
    return new InstancePools({
      connections: settings.connectionsPerInstance,
      keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
      bodyTimeoutMs: settings.bodyTimeoutMs,
      connectTimeoutMs: settings.connectTimeoutMs,
      scheme: settings.scheme,
      tls: settings.tls,
    });
  }

  private newTable(
    source: InstanceSource,
    pools: InstancePools,
    disposers: (() => void)[],
    targetId: string | undefined,
    settings: TargetSettings = this.options,
  ): RoutingTable {
    const context = this.context;
    let detector: OutlierDetector | undefined;
    if (settings.outlierDetection) {
      detector = new OutlierDetector(settings.outlierDetection, undefined, context.logger);
      disposers.push(
        detector.onEject((event) => {
          this.metrics?.ejected();
          context.logger.warn(
            {
              service: this.service,
              ...(targetId !== undefined && { target: targetId }),
              ...event,
            },
            'instance ejected after consecutive failures',
          );
        }),
      );
    }
    return new RoutingTable(source, settings.balancer.create(), pools, detector, this.metrics);
  }

  /** The healthy instances discovery knows now (read-only snapshot). */
  instances(): readonly ServiceInstance[] {
    return this.table.instances();
  }

  /** Instances currently ejected by outlier detection. */
  get ejectedCount(): number {
    return this.table.ejectedCount;
  }

  /** This service's retry budget counters (shared with its `retryBudgetGroup`, if any). */
  get retryBudget(): Pick<RetryBudget, 'requests' | 'retries' | 'exhausted' | 'available'> {
    return this.context.budget;
  }

  /** What routing sees of this service now (the admin view); no token, no internals. */
  status(): UpstreamStatus {
    const budget = this.context.budget;
    const watch = this.watcher.status();
    return {
      service: this.service,
      ready: watch.ready,
      stalenessMs: Math.round(watch.stalenessMs),
      balancer: this.table.balancerName,
      retryBudget: {
        available: budget.available,
        requests: budget.requests,
        retries: budget.retries,
        exhausted: budget.exhausted,
      },
      ejected: this.table.ejectedCount,
      instances: this.table.inspect(),
      ...(this.trafficStatus !== undefined && { traffic: this.trafficStatus() }),
    };
  }

  /** Resolves once discovery has its first answer from Consul. */
  ready(signal?: AbortSignal): Promise<void> {
    return this.watcher.ready(signal);
  }

  /**
   * Makes the call. Resolves with the first acceptable response; rejects with ConfigError (bad
   * input, before anything is sent), NoHealthyInstancesError (at once), RequestTimeoutError,
   * RetriesExhaustedError, UpstreamError or AbortedError, never with a raw socket error. The
   * errors after a send carry `mayHaveBeenProcessed`.
   */
  async request(request: ServiceRequest = {}): Promise<ServiceResponse> {
    if (this.closing) throw new ClosedError(`ServiceClient(${this.service})`);
    checkRequestInput(request, 'request');
    // One async frame for the whole call: the parts below are plain functions, and the hot path
    // pays for no wrapper around the loop. Each turn: pick -> attempt -> report -> decide.
    const startedAt = performance.now();
    try {
      // Given up on before it started: nothing was sent, and the caller may safely try again.
      if (request.signal?.aborted === true) {
        throw new AbortedError(`Call to '${this.service}' aborted`, {
          cause: request.signal.reason,
          mayHaveBeenProcessed: false,
        });
      }
      let deadlineMs = request.deadlineMs ?? this.options.deadlineMs;
      const tryTimeoutMs = request.timeoutMs ?? this.options.timeoutMs;
      // Everything of ours that waits on the caller's signal listens to its relay (one listener on
      // the caller's signal, however many calls share it).
      const asked = toAttemptRequest(request);
      if (!this.discoveryAnswered) await this.awaitFirstAnswer(startedAt + deadlineMs, asked);
      const budget = this.context.budget;
      budget.recordRequest();
      this.watcher.noteUse();

      // Pick: where the call goes (the chain's choice, when the service has one), then an instance.
      let destination = this.destinationOf(asked, request);
      if (isTrafficMiss(destination)) {
        throw new NoHealthyInstancesError(this.service, describeTrafficMiss(destination));
      }
      // The route's settings over the client's defaults; the caller's own per-call ones win. A
      // route with retry features retries as Consul's Envoy would (src/traffic/route-retry.ts).
      const routeDestination = destination.choice?.destination;
      const routeRetry: RouteRetryPolicy | undefined = routeDestination?.retryPolicy;
      const maxAttempts = routeRetry?.maxAttempts ?? this.options.maxAttempts;
      const chainTimeoutMs =
        routeDestination?.requestTimeoutMs ?? destination.choice?.resolverTimeoutMs;
      if (request.deadlineMs === undefined && chainTimeoutMs !== undefined) {
        deadlineMs = chainTimeoutMs;
      }
      const deadlineAt = startedAt + deadlineMs;
      let route = destination.table.pick(request.key, undefined);
      if (route === undefined) throw new NoHealthyInstancesError(this.service);

      let attempts = 0;
      /** Whether some attempt may have reached an instance: what a failure tells the caller. */
      let reached = false;
      let tried: Set<string> | undefined;
      let backoff: Backoff | undefined;
      for (;;) {
        // Attempt.
        attempts += 1;
        const remainingMs = deadlineAt - performance.now();
        const outcome = await attempt(
          route.pool,
          destination.sent,
          Math.min(tryTimeoutMs, remainingMs),
          remainingMs <= tryTimeoutMs,
          route.load,
        );
        // Report: the balancer's load, outlier detection, metrics.
        destination.table.report(route, outcome);
        if (!reached) reached = mayHaveReached(outcome);
        // Decide. The rule's first step, taken without building its input: a plain answer goes back.
        if (outcome.kind === 'response' && answersAtOnce(outcome.response.statusCode, routeRetry)) {
          return this.answered(outcome.response, route, attempts, startedAt, destination);
        }
        backoff ??= new Backoff(this.options.retryBackoff, this.context.random);
        const decision = decideRetry(
          this.retryInput(outcome, request, destination.sent, attempts, maxAttempts, deadlineAt, {
            backoff,
            routeRetry,
          }),
        );
        if (decision.action === 'return' && outcome.kind === 'response') {
          return this.answered(outcome.response, route, attempts, startedAt, destination);
        }
        if (outcome.kind === 'response') await outcome.response.body.dump().catch(() => undefined);
        if (decision.action !== 'retry') {
          // A 'return' here is a status answer on a failed attempt: not reachable, named anyway.
          const reason = decision.action === 'fail' ? decision.reason : 'not_retryable';
          if (reason === 'budget_exhausted') this.metrics?.retryBudgetExhausted();
          throw callFailure(reason, outcome, {
            service: this.service,
            instanceId: route.instance.id,
            attempts,
            deadlineMs,
            tryTimeoutMs,
            mayHaveBeenProcessed: reached,
          });
        }
        this.metrics?.retried(
          retryLabel(
            decision.cause,
            outcome.kind === 'response' ? outcome.response.statusCode : undefined,
          ),
        );
        (tried ??= new Set()).add(route.instance.id);
        if (decision.delayMs > 0) {
          await delay(decision.delayMs, asked.undiciSignal).catch((error: unknown) => {
            throw new AbortedError(`Call to '${this.service}' aborted`, {
              cause: (error as { cause?: unknown }).cause,
              mayHaveBeenProcessed: reached,
            });
          });
        }
        // Pick again, on another instance. The chain may have changed since the last attempt: the
        // retry goes where the current chain sends this request (its target, path rewrite), not by
        // a plan Consul has replaced; the call keeps the attempts and deadline it started with.
        if (this.plan !== destination.plan) {
          const moved = this.destinationOf(asked, request);
          if (isTrafficMiss(moved)) {
            throw new RetriesExhaustedError(
              this.service,
              attempts,
              `after the chain changed, ${describeTrafficMiss(moved)}`,
              { mayHaveBeenProcessed: reached, reason: 'no_instance_left' },
            );
          }
          destination = moved;
        }
        let next = destination.table.pick(request.key, tried);
        if (next === undefined && destination.plan !== undefined) {
          // The target lost its last instance during the call: the chain may fail over now.
          const failover = chainDestination(
            destination.plan,
            asked,
            request.key,
            request.idempotencyKey,
          );
          if (!isTrafficMiss(failover) && failover.table !== destination.table) {
            destination = failover;
            next = destination.table.pick(request.key, undefined);
          }
        }
        if (next === undefined) {
          throw new RetriesExhaustedError(
            this.service,
            attempts,
            'no healthy instance left to try',
            { mayHaveBeenProcessed: reached, reason: 'no_instance_left' },
          );
        }
        route = next;
      }
    } catch (error) {
      this.metrics?.requestFinished(failedOutcome(error), (performance.now() - startedAt) / 1000);
      throw error;
    }
  }

  /** Where calls go now: by the chain's plan when the service has one, else the plain table. */
  private destinationOf(
    asked: AttemptRequest,
    request: ServiceRequest,
  ): CallDestination | TrafficMiss {
    const plan = this.plan;
    return plan === undefined
      ? plainDestination(this.table, asked)
      : chainDestination(plan, asked, request.key, request.idempotencyKey);
  }

  /** The retry decision's input for an attempt that did not answer at once. */
  private retryInput(
    outcome: AttemptResult,
    request: ServiceRequest,
    sent: AttemptRequest,
    attempts: number,
    maxAttempts: number,
    deadlineAt: number,
    policy: { readonly backoff: Backoff; readonly routeRetry: RouteRetryPolicy | undefined },
  ): RetryInput {
    const status = outcome.kind === 'response' ? outcome.response.statusCode : undefined;
    const retryAfter =
      outcome.kind === 'response' && (status === 429 || status === 503)
        ? outcome.response.headers['retry-after']
        : undefined;
    const budget = this.context.budget;
    return {
      outcome: outcome.kind,
      status,
      method: sent.method,
      idempotencyKey: request.idempotencyKey,
      retryableByCaller: request.retryable,
      bodyReplayable: isReplayable(sent.body),
      attempts,
      maxAttempts,
      remainingMs: deadlineAt - performance.now(),
      retryAfterMs:
        retryAfter === undefined
          ? undefined
          : parseRetryAfterMs(retryAfter, Date.now(), this.options.maxRetryAfterMs),
      backoffMs: this.options.retryBackoff.baseMs > 0 ? policy.backoff.nextDelayMs() : 0,
      tryAcquireRetry: () => budget.tryAcquire(),
      routeRetry: policy.routeRetry,
    };
  }

  /** Stops following discovery and closes the connection pools (in-flight calls finish). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const dispose of this.disposers) dispose();
      this.plan = undefined;
      await this.pools.close();
      await this.lease.release();
    })();
    return this.closing;
  }

  /** Cuts every connection now (in-flight calls fail) and stops following discovery. Idempotent. */
  async destroy(): Promise<void> {
    const closing = this.close();
    await Promise.all([this.pools.destroy(), ...[...this.targetPools].map((p) => p.destroy())]);
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Records the call's success (a 5xx answer counts as an HTTP error) and shapes its answer. */
  private answered(
    response: Dispatcher.ResponseData,
    route: Route,
    attempts: number,
    startedAt: number,
    destination: CallDestination,
  ): ServiceResponse {
    const headerChanges = destination.choice?.responseHeaders;
    const status = response.statusCode;
    if (status < 200 || status > 599) {
      // Not an HTTP answer anyone can use (a WHATWG Response refuses it): the request was sent.
      void response.body.dump().catch(() => undefined);
      throw new UpstreamError(
        this.service,
        route.instance.id,
        `answered with status ${status}, outside 200-599`,
        { mayHaveBeenProcessed: true, reason: 'invalid_status' },
      );
    }
    this.metrics?.requestFinished(answeredOutcome(status), (performance.now() - startedAt) / 1000);
    return {
      statusCode: response.statusCode,
      headers:
        headerChanges === undefined
          ? response.headers
          : modifyHeaders(response.headers, headerChanges),
      body: response.body,
      instance: route.instance,
      attempts,
    };
  }

  private async awaitFirstAnswer(deadlineAt: number, sent: AttemptRequest): Promise<void> {
    const signal = sent.undiciSignal;
    if (this.watcher.status().ready && this.alsoReady === undefined) {
      this.discoveryAnswered = true;
      return;
    }
    const waitMs = Math.min(
      this.options.readyTimeoutMs,
      Math.max(0, deadlineAt - performance.now()),
    );
    const wait = startDeadline(waitMs, signal);
    try {
      await this.watcher.ready(wait.signal);
      if (this.alsoReady !== undefined) await this.alsoReady(wait.signal);
      this.discoveryAnswered = true;
    } catch (error) {
      if (sent.signal?.aborted) {
        throw new AbortedError(`Call to '${this.service}' aborted`, {
          mayHaveBeenProcessed: false,
        });
      }
      // Traffic management's own wait says which of its answers is missing.
      if (error instanceof NoHealthyInstancesError) throw error;
      throw new NoHealthyInstancesError(
        this.service,
        `discovery has no answer from Consul after ${waitMs} ms`,
        'discovery_timeout',
      );
    } finally {
      wait.dispose();
    }
  }
}

/** The request every attempt of a call sends; headers are copied only to add the key. */
function toAttemptRequest(request: ServiceRequest): AttemptRequest {
  let headers = request.headers ?? {};
  if (request.idempotencyKey !== undefined) {
    headers = { ...headers, 'idempotency-key': request.idempotencyKey };
  }
  const method = request.method;
  return {
    method: method === undefined || method === GET ? GET : method.toUpperCase(),
    path: request.path ?? '/',
    headers,
    body: request.body ?? null,
    signal: request.signal,
    undiciSignal: request.signal === undefined ? undefined : relayOf(request.signal),
  };
}

/**
 * Whether an attempt that ended so may have reached the instance: only a failed connection, or a
 * request undici refused before sending it, surely did not. A request abandoned while queued for a
 * connection counts as reached: nothing tells whether undici had just dispatched it.
 */
function mayHaveReached(outcome: AttemptResult): boolean {
  if (outcome.kind === 'connect_failure') return false;
  if (outcome.kind !== 'transport_error') return true;
  return (outcome.error as { code?: unknown } | null)?.code !== 'UND_ERR_INVALID_ARG';
}

function isReplayable(body: AttemptRequest['body']): boolean {
  return body === null || typeof body === 'string' || body instanceof Uint8Array;
}

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { createBalancer } from '../balancer/create-balancer';
import type { Balancer } from '../balancer/balancer';
import type { ServiceInstance } from '../discovery/service-instance';
import type { ServiceWatcher } from '../discovery/service-watcher';
import type { WatcherLease } from '../discovery/watcher-registry';
import {
  AbortedError,
  ClosedError,
  NoHealthyInstancesError,
  RequestTimeoutError,
  RetriesExhaustedError,
  UpstreamError,
} from '../errors';
import type { Logger } from '../logger';
import type { ExpressConsulMetrics, RequestOutcome } from '../metrics/express-consul-metrics';
import { delay } from '../resilience/delay';
import { InstancePools } from './instance-pools';
import { OutlierDetector } from './outlier-detector';
import type { RetryBudget } from './retry-budget';
import {
  classifyNetworkError,
  isIdempotentMethod,
  parseRetryAfterMs,
  retryableStatus,
  shouldRetry,
} from './retry-policy';
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
  /** Per-attempt time limit for this call, in ms. Default: the client's `timeoutMs`. */
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

/** Shared, process-wide parts a client needs. */
export interface ServiceClientContext {
  readonly budget: RetryBudget;
  readonly metrics: ExpressConsulMetrics | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
}

type AttemptResult =
  | { readonly response: Dispatcher.ResponseData; readonly error?: undefined }
  | {
      readonly response?: undefined;
      readonly error: unknown;
      readonly timedOut: 'try' | 'deadline' | undefined;
    };

/**
 * Calls one service by name: picks a healthy instance with the balancer, pools connections per
 * instance, bounds every attempt and the whole call in time, retries elsewhere within a shared retry
 * budget, and ejects instances that keep failing. An empty instance list fails at once.
 */
export class ServiceClient {
  readonly service: string;
  private readonly balancer: Balancer;
  private readonly detector: OutlierDetector | undefined;
  private readonly pools: InstancePools;
  private readonly watcher: ServiceWatcher;
  private readonly disposers: (() => void)[] = [];
  private readonly now: () => number;
  /** The list the balancer currently holds (all instances, or the non-ejected ones). */
  private routed: readonly ServiceInstance[] = [];
  private closing: Promise<void> | undefined;
  private readyWaited = false;

  constructor(
    private readonly lease: WatcherLease,
    private readonly options: ResolvedServiceClientOptions,
    private readonly context: ServiceClientContext,
  ) {
    this.watcher = lease.watcher;
    this.service = this.watcher.service;
    this.now = context.now ?? Date.now;
    this.balancer = createBalancer(options.balancer, options.balancerOptions);
    this.pools = new InstancePools({
      connections: options.connectionsPerInstance,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    if (options.outlierDetection) {
      const detector = new OutlierDetector(options.outlierDetection);
      this.detector = detector;
      this.disposers.push(
        detector.onEject((event) => {
          context.metrics?.ejected(this.service);
          context.logger.warn(
            { service: this.service, ...event },
            'instance ejected after consecutive failures',
          );
        }),
      );
    }
    this.disposers.push(this.watcher.onChange(() => this.onInstancesChanged()));
    this.onInstancesChanged();
  }

  /** The healthy instances discovery knows now (read-only snapshot). */
  instances(): readonly ServiceInstance[] {
    return this.watcher.instances();
  }

  /** Instances currently ejected by outlier detection. */
  get ejectedCount(): number {
    return this.detector?.ejectedCount ?? 0;
  }

  /** The watcher behind this client (shared with other clients of the same service). */
  get discovery(): ServiceWatcher {
    return this.watcher;
  }

  /** Resolves once discovery has its first answer from Consul. */
  ready(signal?: AbortSignal): Promise<void> {
    return this.watcher.ready(signal);
  }

  /**
   * Makes the call. Resolves with the first acceptable response; rejects with
   * NoHealthyInstancesError (at once), RequestTimeoutError, RetriesExhaustedError, UpstreamError or
   * AbortedError, never with a raw socket error.
   */
  async request(request: ServiceRequest = {}): Promise<ServiceResponse> {
    if (this.closing) throw new ClosedError(`ServiceClient(${this.service})`);
    const startedAt = this.now();
    let outcome: RequestOutcome = 'success';
    try {
      const response = await this.run(request, startedAt);
      if (response.statusCode >= 500) outcome = 'http_error';
      return response;
    } catch (error) {
      outcome = outcomeOf(error);
      throw error;
    } finally {
      this.context.metrics?.requestFinished(this.service, outcome, (this.now() - startedAt) / 1000);
    }
  }

  /** Stops following discovery and closes the connection pools (in-flight calls finish). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const dispose of this.disposers) dispose();
      await this.pools.close();
      await this.lease.release();
    })();
    return this.closing;
  }

  /** Cuts every connection now (in-flight calls fail) and stops following discovery. Idempotent. */
  async destroy(): Promise<void> {
    const closing = this.close();
    await this.pools.destroy();
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async run(request: ServiceRequest, startedAt: number): Promise<ServiceResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    const deadlineAt = startedAt + (request.deadlineMs ?? this.options.deadlineMs);
    const tryTimeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const body = request.body ?? null;
    const bodyReplayable = body === null || typeof body === 'string' || body instanceof Uint8Array;
    const headers: Record<string, string | string[]> = {
      ...(request.headers as Record<string, string | string[]>),
    };
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    const retryPolicy = {
      method,
      idempotencyKey: request.idempotencyKey,
      retryableByCaller: request.retryable,
      bodyReplayable,
    };

    await this.awaitFirstAnswer(deadlineAt, request.signal);
    this.context.budget.recordRequest();
    let tried: Set<string> | undefined;
    let attempts = 0;
    for (;;) {
      const instance = this.pick(request.key, tried);
      if (!instance) {
        if (attempts === 0) throw new NoHealthyInstancesError(this.service);
        throw new RetriesExhaustedError(this.service, attempts, 'no other healthy instance to try');
      }
      if (attempts > 0 && deadlineAt - this.now() <= 0) {
        throw new RequestTimeoutError(this.service, deadlineAt - startedAt, 'deadline');
      }
      attempts += 1;
      const result = await this.attempt(instance, method, request.path ?? '/', headers, body, {
        timeoutMs: Math.min(tryTimeoutMs, deadlineAt - this.now()),
        deadlineIsNearer: deadlineAt - this.now() <= tryTimeoutMs,
        signal: request.signal,
      });

      let failure: string;
      let retryAfterMs = 0;
      let lastStatus: number | undefined;
      if (result.response) {
        const status = result.response.statusCode;
        const failed = status >= 500;
        if (failed) this.detector?.recordFailure(instance.id);
        else this.detector?.recordSuccess(instance.id);
        this.context.metrics?.attemptFinished(
          this.service,
          instance.id,
          failed ? 'http_error' : 'success',
        );
        if (!retryableStatus(status)) return { ...result.response, instance, attempts };
        const decision = shouldRetry({ ...retryPolicy, status });
        if (!decision.retry) return { ...result.response, instance, attempts };
        failure = `status ${status}`;
        lastStatus = status;
        if (status === 429 || status === 503) {
          retryAfterMs =
            parseRetryAfterMs(
              result.response.headers['retry-after'],
              Date.now(),
              this.options.maxRetryAfterMs,
            ) ?? 0;
        }
        await result.response.body.dump().catch(() => undefined);
      } else {
        const { error, timedOut } = result;
        if (request.signal?.aborted)
          throw new AbortedError(`Call to '${this.service}' aborted`, { cause: error });
        const kind = timedOut === 'try' ? 'reset' : classifyNetworkError(error);
        this.context.metrics?.attemptFinished(
          this.service,
          instance.id,
          timedOut ? 'timeout' : 'network_error',
        );
        if (kind !== undefined) this.detector?.recordFailure(instance.id);
        if (timedOut === 'deadline') {
          throw new RequestTimeoutError(this.service, deadlineAt - startedAt, 'deadline');
        }
        // A per-try timeout is retried like a reset: only when repeating the request is safe.
        const mayRetry =
          timedOut === 'try'
            ? timeoutMayRetry(retryPolicy)
            : shouldRetry({ ...retryPolicy, error }).retry;
        if (!mayRetry) {
          if (timedOut === 'try') throw new RequestTimeoutError(this.service, tryTimeoutMs, 'try');
          throw new UpstreamError(this.service, instance.id, describe(error), { cause: error });
        }
        failure =
          timedOut === 'try' ? `attempt timed out after ${tryTimeoutMs} ms` : describe(error);
      }

      const remainingMs = deadlineAt - this.now();
      if (attempts >= this.options.maxAttempts) {
        throw new RetriesExhaustedError(
          this.service,
          attempts,
          `${failure} (maxAttempts reached)`,
          withStatus(lastStatus, result.error),
        );
      }
      if (retryAfterMs >= remainingMs) {
        throw new RetriesExhaustedError(
          this.service,
          attempts,
          `${failure}; Retry-After exceeds the deadline`,
          withStatus(lastStatus, result.error),
        );
      }
      if (!this.context.budget.tryWithdraw()) {
        this.context.metrics?.retryBudgetExhausted(this.service);
        throw new RetriesExhaustedError(
          this.service,
          attempts,
          `${failure}; retry budget exhausted`,
          withStatus(lastStatus, result.error),
        );
      }
      this.context.metrics?.retried(
        this.service,
        lastStatus !== undefined ? `status_${lastStatus}` : 'network',
      );
      (tried ??= new Set()).add(instance.id);
      if (retryAfterMs > 0) await delay(retryAfterMs, request.signal);
    }
  }

  private pick(
    key: string | undefined,
    tried: Set<string> | undefined,
  ): ServiceInstance | undefined {
    // While something is ejected, returns are noticed lazily here, on the request path.
    if (
      this.detector &&
      (this.detector.ejectedCount > 0 || this.routed !== this.watcher.instances())
    ) {
      this.updateRouting();
    }
    if (tried === undefined) return this.balancer.pick(key === undefined ? undefined : { key });
    const context = key === undefined ? { exclude: tried } : { key, exclude: tried };
    // Retries go elsewhere; with a single instance left, trying it again beats failing.
    return (
      this.balancer.pick(context) ?? this.balancer.pick(key === undefined ? undefined : { key })
    );
  }

  private onInstancesChanged(): void {
    const all = this.watcher.instances();
    this.pools.retain(all);
    this.detector?.retain(all.map((instance) => instance.id));
    this.updateRouting();
  }

  /** Gives the balancer the instances not ejected, when that set differs from what it holds. */
  private updateRouting(): void {
    const all = this.watcher.instances();
    const routed = this.detector ? this.detector.eligible(all) : all;
    if (!sameMembers(routed, this.routed)) this.balancer.update(routed);
    // Keep the watcher's own array when nothing is ejected, so the check in pick() stays cheap.
    this.routed = routed.length === all.length ? all : routed;
  }

  private async awaitFirstAnswer(
    deadlineAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (this.readyWaited || this.watcher.status().ready) return;
    const waitMs = Math.min(this.options.readyTimeoutMs, Math.max(0, deadlineAt - this.now()));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.watcher.ready(controller.signal);
    } catch {
      if (signal?.aborted) throw new AbortedError(`Call to '${this.service}' aborted`);
      throw new NoHealthyInstancesError(
        this.service,
        `discovery has no answer from Consul after ${waitMs} ms`,
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.readyWaited = true;
    }
  }

  private async attempt(
    instance: ServiceInstance,
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body: string | Uint8Array | Readable | null,
    limits: { timeoutMs: number; deadlineIsNearer: boolean; signal: AbortSignal | undefined },
  ): Promise<AttemptResult> {
    const controller = new AbortController();
    let timedOut: 'try' | 'deadline' | undefined;
    const timer = setTimeout(
      () => {
        timedOut = limits.deadlineIsNearer ? 'deadline' : 'try';
        controller.abort();
      },
      Math.max(0, limits.timeoutMs),
    );
    const onAbort = (): void => controller.abort(limits.signal?.reason);
    if (limits.signal?.aborted) onAbort();
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    const startedAt = this.now();
    this.balancer.onRequestStart?.(instance);
    try {
      const response = await this.pools.poolFor(instance).request({
        method: method,
        path,
        headers,
        body,
        signal: controller.signal,
      });
      return { response };
    } catch (error) {
      return { error, timedOut };
    } finally {
      clearTimeout(timer);
      this.balancer.onRequestEnd?.(instance, this.now() - startedAt);
    }
  }
}

/** A timed-out attempt may have reached the server, so only a request safe to repeat is retried. */
function timeoutMayRetry(policy: {
  method: string;
  idempotencyKey: string | undefined;
  retryableByCaller: boolean | undefined;
  bodyReplayable: boolean;
}): boolean {
  if (policy.retryableByCaller === false || !policy.bodyReplayable) return false;
  return (
    policy.retryableByCaller === true ||
    policy.idempotencyKey !== undefined ||
    isIdempotentMethod(policy.method)
  );
}

function sameMembers(a: readonly ServiceInstance[], b: readonly ServiceInstance[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function withStatus(
  status: number | undefined,
  cause: unknown,
): { lastStatus?: number; cause?: unknown } {
  return {
    ...(status !== undefined && { lastStatus: status }),
    ...(cause !== undefined && { cause }),
  };
}

function outcomeOf(error: unknown): RequestOutcome {
  if (error instanceof NoHealthyInstancesError) return 'no_instances';
  if (error instanceof RequestTimeoutError) return 'timeout';
  if (error instanceof RetriesExhaustedError) return 'retries_exhausted';
  if (error instanceof AbortedError) return 'aborted';
  return 'network_error';
}

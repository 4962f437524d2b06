import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { isSaturated } from './pool-saturation';
import { isFailureStatus } from './request-outcome';
import type { AttemptFailure } from './request-outcome';
import { classifyNetworkError } from './retry-policy';

/**
 * What {@link attempt} resolves with (it never rejects); the retry decision and the outlier
 * detector read only this. Kinds are request-outcome.ts's vocabulary.
 */
export type AttemptResult =
  | { readonly kind: 'response'; readonly response: Dispatcher.ResponseData }
  | { readonly kind: AttemptFailure; readonly error: unknown };

/** The request as undici sends it; one object for every attempt of a call. */
export interface AttemptRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders | Readonly<Record<string, string | readonly string[]>>;
  readonly body: string | Uint8Array | Readable | null;
  /** The caller's signal: whether it fired decides an `aborted` outcome. */
  readonly signal: AbortSignal | undefined;
  /** What undici and our own waits listen to: the caller's signal through its relay (signal-relay.ts). */
  readonly undiciSignal: AbortSignal | undefined;
}

/** Told when an attempt's response has been fully read (or failed): the balancer's load signal. */
export interface AttemptLoad {
  /** The attempt started. */
  start(): void;
  /** It ended after `latencyMs`; `succeeded` is false for an error, a 5xx or a broken body. */
  end(latencyMs: number, succeeded: boolean): void;
}

/**
 * Limits below this, in ms, get a timer of the attempt's own. undici's headers timeout runs on its
 * fast timers, which tick about every 0.5 s: cheap and close enough for the default 10 s per-try
 * timeout, but a 300 ms limit would give up anywhere up to a second late.
 */
export const COARSE_TIMER_MIN_MS = 10_000;

/**
 * Sends one attempt through `pool`. A long limit is undici's own headers timeout and the caller's
 * signal reaches undici through its relay, so such an attempt adds no timer and no listener: undici
 * removes its abort listener when the body closes, which keeps a long-lived signal shared by many
 * calls from growing. A limit under COARSE_TIMER_MIN_MS, or any limit when the pool is saturated,
 * gets a precise timer and a signal of its own, linked to the relay until the body closes.
 * `limitIsDeadline` says whether `headersTimeoutMs` is the call's deadline (nearer than the per-try
 * timeout), which decides how a timeout is reported. With `load`, the end of the *body* is
 * reported, so a request counts as in flight until then.
 */
export async function attempt(
  pool: Dispatcher,
  request: AttemptRequest,
  headersTimeoutMs: number,
  limitIsDeadline: boolean,
  load: AttemptLoad | undefined,
): Promise<AttemptResult> {
  const startedAt = load === undefined ? 0 : performance.now();
  // undici's headers timer starts only once the request is written, and a request waiting in the
  // pool's queue for a connection ignores its signal until it is dispatched (undici just notes the
  // reason): with every connection held by a long body, neither the deadline nor the caller's
  // signal would end the wait. So a saturated pool's attempt races its own limit.
  // While a streamed body is written, each write the instance is slow to read restarts undici's
  // headers timer: an instance reading a trickle would hold the attempt for ever. Streams are
  // sent once, never retried, so the timer of their own is not on the common path.
  const limit =
    headersTimeoutMs < COARSE_TIMER_MIN_MS || isSaturated(pool) || isStream(request.body)
      ? new PreciseLimit(headersTimeoutMs, request.undiciSignal)
      : undefined;
  // Every 1xx restarts undici's headers timer, so an instance answering 102 forever would hold a
  // long-limit attempt for ever: its first 1xx arms the attempt's own timer.
  const informational =
    limit === undefined
      ? new InformationalLimit(headersTimeoutMs, startedAtOrNow(startedAt))
      : undefined;
  load?.start();
  try {
    const options: {
      -readonly [K in keyof Dispatcher.RequestOptions]: Dispatcher.RequestOptions[K];
    } = {
      method: request.method,
      path: request.path,
      headers: request.headers as Record<string, string | string[]>,
      body: request.body,
      signal: limit?.signal ?? request.undiciSignal ?? null,
      headersTimeout: Math.max(1, Math.ceil(headersTimeoutMs)),
    };
    if (informational !== undefined) options.onInfo = informational.onInfo;
    const sent = pool.request(options);
    const response =
      informational !== undefined
        ? await informational.race(sent)
        : await (limit as PreciseLimit).race(sent);
    informational?.answered();
    limit?.answered(response.body);
    if (load !== undefined) reportBodyEnd(response, load, startedAt);
    return { kind: 'response', response };
  } catch (error) {
    informational?.answered();
    limit?.failed();
    load?.end(performance.now() - startedAt, false);
    const kind =
      limit?.expired || informational?.expired
        ? limitIsDeadline
          ? 'deadline'
          : 'try_timeout'
        : failureKind(error, request.signal, limitIsDeadline);
    return { kind, error };
  }
}

/**
 * A limit's own timer and signal; the caller's relay is linked in until the body closes. Its
 * `race` ends the attempt itself when the timer or the caller's signal fires, whether or not undici
 * has dispatched the request yet; aborting the signal makes undici drop a request still queued
 * when its turn comes, so a call given up on is never sent later.
 */
class PreciseLimit {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private unlink: (() => void) | undefined;
  private giveUp: ((reason: unknown) => void) | undefined;
  /** Headers arrived or the attempt failed: from then on only the signal matters. */
  private settled = false;
  /** The limit or the caller's signal fired before the answer. */
  private gaveUp = false;
  expired = false;

  constructor(ms: number, relay: AbortSignal | undefined) {
    this.timer = setTimeout(
      () => {
        this.expired = true;
        this.stop(new Error(`limit of ${ms} ms passed`));
      },
      // Node fires a longer timer at once; a call that long is not waiting for its limit anyway.
      Math.min(Math.max(0, ms), 2_147_483_647),
    );
    if (relay === undefined) return;
    if (relay.aborted) {
      this.stop(relay.reason);
      return;
    }
    const onAbort = (): void => this.stop(relay.reason);
    relay.addEventListener('abort', onAbort, { once: true });
    this.unlink = () => relay.removeEventListener('abort', onAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `sent`, or a rejection as soon as the limit or the caller's signal fires. */
  race(sent: Promise<Dispatcher.ResponseData>): Promise<Dispatcher.ResponseData> {
    // A response that arrives after we gave up is nobody's: free its connection.
    sent.then(
      (late) => {
        if (this.gaveUp) void late.body.dump().catch(() => undefined);
      },
      () => undefined,
    );
    if (this.gaveUp) return Promise.reject(this.controller.signal.reason as Error);
    return Promise.race([
      sent,
      new Promise<never>((_resolve, reject) => {
        this.giveUp = reject;
      }),
    ]);
  }

  /** Headers arrived: the limit is met; the caller may still abort the body until it closes. */
  answered(body: Dispatcher.ResponseData['body']): void {
    this.settle();
    if (this.unlink !== undefined) body.once('close', this.unlink);
  }

  failed(): void {
    this.settle();
    this.unlink?.();
  }

  private settle(): void {
    clearTimeout(this.timer);
    this.settled = true;
    this.giveUp = undefined;
  }

  private stop(reason: unknown): void {
    this.controller.abort(reason);
    if (this.settled) return;
    this.gaveUp = true;
    this.giveUp?.(reason);
  }
}

function isStream(body: AttemptRequest['body']): boolean {
  return body !== null && typeof body === 'object' && !(body instanceof Uint8Array);
}

function startedAtOrNow(startedAt: number): number {
  return startedAt === 0 ? performance.now() : startedAt;
}

/**
 * The limit of a long-limit attempt once the instance has sent a 1xx: undici restarts its headers
 * timer on each one. Nothing is armed until the first 1xx (the common case pays for one small
 * object and a promise). When the limit passes, the call is answered at once; the next 1xx aborts
 * the request (a throw from onInfo is undici's abort path) and undici's own timer frees the
 * connection of an instance that falls silent instead.
 */
class InformationalLimit {
  private timer: NodeJS.Timeout | undefined;
  private giveUp: ((reason: unknown) => void) | undefined;
  private done = false;
  expired = false;

  constructor(
    private readonly ms: number,
    private readonly startedAt: number,
  ) {}

  readonly onInfo = (): void => {
    if (this.expired) throw new Error(`limit of ${this.ms} ms passed during 1xx responses`);
    if (this.timer !== undefined || this.done) return;
    const leftMs = this.ms - (performance.now() - this.startedAt);
    this.timer = setTimeout(() => this.expire(), Math.min(Math.max(0, leftMs), 2_147_483_647));
  };

  race(sent: Promise<Dispatcher.ResponseData>): Promise<Dispatcher.ResponseData> {
    return new Promise((resolve, reject) => {
      this.giveUp = reject;
      sent.then((response) => {
        if (this.expired) void response.body.dump().catch(() => undefined);
        else resolve(response);
      }, reject);
    });
  }

  answered(): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.giveUp = undefined;
  }

  private expire(): void {
    this.expired = true;
    this.giveUp?.(new Error(`limit of ${this.ms} ms passed during 1xx responses`));
  }
}

function reportBodyEnd(response: Dispatcher.ResponseData, load: AttemptLoad, startedAt: number) {
  const body = response.body;
  const failedStatus = isFailureStatus(response.statusCode);
  body.once('close', () => {
    load.end(performance.now() - startedAt, !failedStatus && body.errored === null);
  });
}

function failureKind(
  error: unknown,
  signal: AbortSignal | undefined,
  limitIsDeadline: boolean,
): AttemptFailure {
  if (signal?.aborted) return 'aborted';
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return limitIsDeadline ? 'deadline' : 'try_timeout';
  }
  return classifyNetworkError(error) ?? 'transport_error';
}

// One blocking-query loop on a Consul endpoint whose answer is parsed into a value (a discovery
// chain, the names of a config-entry kind). The same rules as the health watch
// (src/watch/blocking-index.ts): index backwards -> one non-blocking read from 0; below 1 ->
// wait from 1; after a failure the next read is non-blocking; errors back off with jitter and reset
// on success; the loop never stops until close(). An answer that fails to parse is refused: the
// last good value stays (never replaced by nothing), and each distinct refusal is logged once.
// Reads are rate limited as the health watch's (a token bucket of UPDATE_BURST, one token per
// `minUpdateIntervalMs`, the first read spending one too): an endpoint answering back to back (a
// flapping writer, a hostile agent) costs at most one read per interval once the burst is spent,
// and since each read takes the newest state, the last change is still the one applied.
import { decideIndex } from '../watch/blocking-index';
import { ListenerSet } from '../events/listener-set';
import type { Listener } from '../events/listener-set';
import type { Logger } from '../logger';
import { Backoff } from '../resilience/backoff';
import type { BackoffOptions } from '../resilience/backoff';
import { delay } from '../resilience/delay';
import { TokenBucket, UPDATE_BURST } from '../watch/token-bucket';

/** One answer of the endpoint: its body and X-Consul-Index. */
export interface BlockingAnswer {
  readonly data: unknown;
  readonly index: number | undefined;
}

/** How a BlockingValue reads and parses; resolved by its owner. */
export interface BlockingValueOptions<T> {
  /** Names the loop in logs, e.g. `discovery chain of 'web'`. */
  readonly what: string;
  /** One read; `index` 0 means non-blocking. */
  read(index: number, waitMs: number, signal: AbortSignal): Promise<BlockingAnswer>;
  /**
   * Turns a body into the value; throws (a typed error) to refuse it. `bodyChars` is the length of
   * the answer's JSON text, for a bound on its size.
   */
  parse(data: unknown, bodyChars: number): T;
  /** Longest wait of a blocking read, in ms. */
  readonly waitMs: number;
  /** Time to earn back one of the UPDATE_BURST read tokens, in ms (the health watch's); 0: no limit. */
  readonly minUpdateIntervalMs: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  /** Uniform source in [0, 1) for the backoff's jitter. Default: Math.random. */
  readonly random?: () => number;
  /** Monotonic clock in ms for the rate limit. Default: performance.now. */
  readonly now?: () => number;
  /**
   * Keeps room on the watch lane for this loop's blocking query while it runs (the watch
   * scheduler's reserveBlocking); returns the release. Default: none.
   */
  readonly reserveBlocking?: () => () => void;
  /**
   * Whether a failed read counts as settled (see `settled()`): a failure that is an answer of its
   * own, e.g. an ACL refusal. Default: every failure.
   */
  readonly settlesOnError?: (error: unknown) => boolean;
}

/** Status of the loop for the admin view. */
export interface BlockingValueStatus {
  readonly ready: boolean;
  readonly index: number;
  /** The last answer was refused (the value is the last good one). */
  readonly refused: boolean;
  readonly lastRefusal: string | undefined;
  readonly consecutiveErrors: number;
}

/** A value Consul holds, followed with blocking queries; `value` is the last good one. */
export class BlockingValue<T> {
  private current: T | undefined;
  private index = 0;
  /** The body of the last accepted answer, to announce only real changes. */
  private lastBody: string | undefined;
  private refusal: string | undefined;
  private readonly refusalsLogged = new Set<string>();
  private errors = 0;
  private readonly abort = new AbortController();
  private readonly listeners: ListenerSet<T>;
  private readonly backoff: Backoff;
  private readonly rateLimit: TokenBucket;
  private readonly now: () => number;
  private loop: Promise<void> | undefined;
  private releaseRoom: (() => void) | undefined;
  private readonly gate: Promise<void>;
  private openGate!: () => void;
  /** Opens at the first good value or a failure `settlesOnError` accepts, or at close. */
  private readonly settledGate: Promise<void>;
  private settleGate!: () => void;
  private hasSettled = false;
  private closed = false;

  constructor(private readonly options: BlockingValueOptions<T>) {
    this.listeners = new ListenerSet<T>(`listener of the ${options.what}`, () => options.logger);
    this.backoff = new Backoff(options.backoff, options.random);
    this.rateLimit = new TokenBucket(UPDATE_BURST, options.minUpdateIntervalMs);
    this.now = options.now ?? (() => performance.now());
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    this.settledGate = new Promise((resolve) => (this.settleGate = resolve));
  }

  /** Starts the loop; later calls do nothing. */
  start(): void {
    if (this.closed || this.loop) return;
    this.releaseRoom = this.options.reserveBlocking?.();
    // Never a floating rejection: a bug past every guard is logged, and the last value kept.
    this.loop = this.run().catch((error: unknown) => {
      this.options.logger.error(
        { err: error },
        `express-consul: the watch of the ${this.options.what} stopped; the last good value is kept`,
      );
    });
  }

  /** The last good value; undefined before the first good answer. */
  get value(): T | undefined {
    return this.current;
  }

  /** Resolves at the first good answer, or when `signal` aborts, or at close (check `value`). */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.current !== undefined || this.closed) return Promise.resolve();
    return until(this.gate, signal);
  }

  /**
   * Resolves once there is a good value or a read failed in a way `settlesOnError` accepts (or
   * `signal` aborts): what a caller waits for before trusting that no value means "none".
   */
  settled(signal?: AbortSignal): Promise<void> {
    return until(this.settledGate, signal);
  }

  /** Whether what `settled()` waits for has happened. */
  get isSettled(): boolean {
    return this.hasSettled;
  }

  /** Called with each new good value (not for a refused or unchanged answer). */
  onChange(listener: Listener<T>): () => void {
    return this.listeners.add(listener);
  }

  status(): BlockingValueStatus {
    return {
      ready: this.current !== undefined,
      index: this.index,
      refused: this.refusal !== undefined,
      lastRefusal: this.refusal,
      consecutiveErrors: this.errors,
    };
  }

  /** Stops the loop (an in-flight query is aborted). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.openGate();
    this.settleGate();
    await this.loop;
    this.releaseRoom?.();
    this.releaseRoom = undefined;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    // The first read spends a token too, so that a burst is UPDATE_BURST reads from the start.
    let pauseMs = this.rateLimit.take(this.now());
    while (!signal.aborted) {
      if (pauseMs > 0) {
        await delay(pauseMs, signal).catch(() => undefined);
        if (signal.aborted) return;
      }
      let answer: BlockingAnswer;
      try {
        answer = await this.options.read(this.index, this.options.waitMs, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.errors += 1;
        if (this.options.settlesOnError?.(error) ?? true) this.settle();
        // A restarted agent has a lower index: the next read is a plain one.
        this.index = 0;
        const waitMs = this.backoff.nextDelayMs();
        this.options.logger.warn(
          { err: error, retryInMs: waitMs, consecutiveErrors: this.errors },
          `express-consul: reading the ${this.options.what} failed; the last good value is kept`,
        );
        // The backoff is the pause; a failed read earns no token back nor spends one.
        pauseMs = waitMs;
        continue;
      }
      this.errors = 0;
      this.backoff.reset();
      const decision = decideIndex(this.index, answer.index);
      this.index = decision.nextIndex;
      if (decision.outcome !== 'backwards' && decision.outcome !== 'unchanged') {
        this.accept(answer.data);
      }
      // Settled by a value: a refused first answer says nothing of what Consul holds.
      if (this.current !== undefined) this.settle();
      // The token of the next read, taken now: its wait is the pause before it.
      pauseMs = this.rateLimit.take(this.now());
    }
  }

  private settle(): void {
    this.hasSettled = true;
    this.settleGate();
  }

  private accept(data: unknown): void {
    let body: string | undefined;
    let value: T;
    try {
      // An answer nested deeper than the stack (JSON.parse takes it, JSON.stringify does not) is
      // refused like any other bad answer: it must not end the loop.
      body = JSON.stringify(data);
      if (body === this.lastBody) return;
      value = this.options.parse(data, body.length);
    } catch (error) {
      const reason =
        body === undefined
          ? 'the answer is nested too deeply to read'
          : error instanceof Error
            ? error.message
            : String(error);
      this.refusal = reason;
      this.lastBody = body;
      if (!this.refusalsLogged.has(reason)) {
        this.refusalsLogged.add(reason);
        this.options.logger.warn(
          { err: error },
          `express-consul: the ${this.options.what} was refused; the last good one is kept`,
        );
      }
      return;
    }
    this.refusal = undefined;
    this.lastBody = body;
    this.current = value;
    this.openGate();
    this.listeners.emit(value);
  }
}

/** `gate`, or earlier when `signal` aborts; the listener is removed either way. */
function until(gate: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return gate;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void gate.then(done);
  });
}

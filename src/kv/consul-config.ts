import type { ConsulClient } from '../consul/consul-client';
import type { KvEntry } from '../consul/kv-types';
import { decideIndex } from '../watch/blocking-index';
import { UPDATE_BURST } from '../watch/service-watcher';
import { TokenBucket } from '../watch/token-bucket';
import {
  AbortedError,
  ClosedError,
  InvalidStateError,
  KvConfigError,
  isExpressConsulError,
} from '../errors';
import { ListenerSet } from '../events/listener-set';
import type { Listener } from '../events/listener-set';
import type { Logger } from '../logger';
import { startDeadline } from '../resilience/deadline';
import { Backoff } from '../resilience/backoff';
import { delay } from '../resilience/delay';
import type { ResolvedConsulConfigOptions } from './config-options';
import type { ControlPlaneMetrics } from './kv-metrics';
import { configSource, parseConfig } from './parse-config';
import { issuePath } from './standard-schema';

/** Where a configuration watch reads KV from: a ConsulClient, or anything with its `kvGet`. */
export type KvSource = Pick<ConsulClient, 'kvGet'>;

/** Passed to `onChange` listeners when a new good value replaced the one in use. */
export interface ConfigChangeEvent<T> {
  readonly key: string;
  readonly value: T;
  /** The value it replaces; undefined for the first. */
  readonly previous: T | undefined;
  /** X-Consul-Index of the answer that carried it. */
  readonly index: number;
}

/** Passed to `onRefused` listeners when a change was refused; the last good value stays in use. */
export interface ConfigRefusedEvent {
  readonly key: string;
  /** Names the problem and the first bad path; never holds the value. */
  readonly error: KvConfigError;
  readonly index: number;
}

/** The state of a configuration watch, for the admin view and `express-consul status`. */
export interface ConfigStatus {
  readonly key: string;
  readonly format: string;
  /** True once a value is in use (from Consul or the default). */
  readonly ready: boolean;
  /** True when the value in use is `defaultValue`, not one read from Consul. */
  readonly usingDefault: boolean;
  /** X-Consul-Index of the last answer accepted. */
  readonly index: number;
  /** When Consul last confirmed the value in use, in ms since the epoch. */
  readonly lastGoodAt: number | undefined;
  /** True while queries fail: the value may be out of date. */
  readonly stale: boolean;
  /** While stale, ms since Consul last answered; else 0. */
  readonly stalenessMs: number;
  /** Changes applied since start. */
  readonly updates: number;
  /** Changes refused since start. */
  readonly refused: number;
  /** The last refusal: problem and first bad path (no value). */
  readonly lastRefused:
    { readonly problem: string; readonly path: string; readonly at: number } | undefined;
  readonly closed: boolean;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A typed configuration value that follows a key (a JSON or YAML document) or a prefix (a tree of
 * keys) in Consul KV with one blocking query at a time, under the watch rules of discovery: the
 * index only moves forward (backwards resets to 0, below 1 waits from 1), unchanged content is not
 * parsed or announced again, failures back off with jitter, bursts are spaced by the rate limit.
 *
 * Last-good semantics: a change that is missing (key deleted, or an agent restarted without its
 * state), unparsable or refused by the schema never replaces the value in use; it is reported once
 * (event, metric, one log line with the key and the first bad path, never the value). An outage
 * keeps the value too, marked stale.
 */
export class ConsulConfig<T> {
  readonly key: string;
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private readonly rateLimit: TokenBucket;
  private readonly changeListeners: ListenerSet<ConfigChangeEvent<T>>;
  private readonly refusedListeners: ListenerSet<ConfigRefusedEvent>;

  private current: { value: T } | undefined;
  private usingDefault = false;
  private index = 0;
  private queryIndex = 0;
  /** Content of the last answer looked at, good or refused: the same content is not judged twice. */
  private lastSource: string | undefined;
  private updates = 0;
  private refusedCount = 0;
  private lastRefused: ConfigStatus['lastRefused'];
  private lastGoodAt: number | undefined;
  private lastAnswerAt: number | undefined;
  private startedAt = 0;
  private consecutiveErrors = 0;
  private lastError: Error | undefined;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly firstValue: Promise<void>;
  private resolveFirst!: () => void;
  private readonly removeSignalListener: () => void;

  constructor(
    private readonly source: KvSource,
    private readonly options: ResolvedConsulConfigOptions<T>,
    private readonly logger: Logger,
    private readonly metrics: ControlPlaneMetrics | undefined,
    random: () => number = Math.random,
    /** Runs after the watch ended (a standalone watch closes its own Consul client here). */
    private readonly afterClose: () => Promise<void> = async () => {},
    /** The clock of the status, the staleness and the rate limit, in ms since the epoch. */
    private readonly now: () => number = Date.now,
  ) {
    this.key = options.key;
    this.changeListeners = this.listeners('change');
    this.refusedListeners = this.listeners('refused');
    this.backoff = new Backoff(options.backoff, random);
    // The health watch's rule: two changes in a row are both followed at once, a burst is paced.
    this.rateLimit = new TokenBucket(UPDATE_BURST, options.minUpdateIntervalMs);
    this.firstValue = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    const onAbort = (): void => void this.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.removeSignalListener = () => options.signal?.removeEventListener('abort', onAbort);
    if (options.signal?.aborted) void this.close();
  }

  /** Starts the watch; later calls do nothing. Throws ClosedError after `close()`. */
  start(): void {
    if (this.closing) throw new ClosedError(`Config '${this.key}'`);
    if (this.loop) return;
    this.startedAt = this.now();
    this.loop = this.run();
  }

  /**
   * Starts the watch and resolves once a value is in use. Waits at most `readyTimeoutMs` (and
   * until `signal` aborts): then the `defaultValue` applies when there is one, else it rejects
   * with KvConfigError (`missing`, or why the value found was refused; the last Consul failure as
   * cause). A key Consul answers it does not have takes the default at once.
   */
  async ready(signal?: AbortSignal): Promise<T> {
    this.start();
    if (this.current) return this.current.value;
    const wait = startDeadline(this.options.readyTimeoutMs, signal, this.abort.signal);
    const stop = wait.signal;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        this.firstValue,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(new AbortedError('the wait for a first value ended'));
          stop.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } catch {
      // Re-read: the value may have arrived while the wait was ending.
      const arrived = this.current as { value: T } | undefined;
      if (arrived) return arrived.value;
      if (this.closing) throw new ClosedError(`Config '${this.key}'`);
      if (signal?.aborted)
        throw new AbortedError(`Stopped waiting for Consul KV '${this.key}'`, {
          cause: signal.reason,
        });
      if (this.options.hasDefault) {
        return this.useDefault('no value within readyTimeoutMs');
      }
      const refused = this.lastRefused;
      throw new KvConfigError(
        this.key,
        refused ? (refused.problem as KvConfigError['problem']) : 'missing',
        `no good value within ${this.options.readyTimeoutMs} ms` +
          (refused
            ? ` (last change refused: ${refused.problem}${refused.path ? ` at '${refused.path}'` : ''})`
            : '') +
          (this.lastError ? `; last error: ${this.lastError.message}` : ''),
        { path: refused?.path ?? '', cause: this.lastError },
      );
    } finally {
      if (onAbort) stop.removeEventListener('abort', onAbort);
      wait.dispose();
    }
    return (this.current as { value: T } | undefined)!.value;
  }

  /** The value in use. Throws InvalidStateError before `ready()` resolved; still answers after `close()`. */
  get(): T {
    if (!this.current)
      throw new InvalidStateError(`Config '${this.key}': no value yet; await ready() first`);
    return this.current.value;
  }

  /** Calls `listener` after each change of the value; returns the unsubscriber. A throwing listener is logged, never rethrown. */
  onChange(listener: Listener<ConfigChangeEvent<T>>): () => void {
    return this.subscribe(this.changeListeners, listener);
  }

  /** Calls `listener` for each refused change; returns the unsubscriber. */
  onRefused(listener: Listener<ConfigRefusedEvent>): () => void {
    return this.subscribe(this.refusedListeners, listener);
  }

  /** Where the watch is; see ConfigStatus. */
  status(): ConfigStatus {
    const stale = this.consecutiveErrors > 0;
    const since = this.lastAnswerAt ?? this.startedAt;
    return {
      key: this.key,
      format: this.options.format,
      ready: this.current !== undefined,
      usingDefault: this.usingDefault,
      index: this.index,
      lastGoodAt: this.lastGoodAt,
      stale,
      stalenessMs: stale ? Math.max(0, this.now() - since) : 0,
      updates: this.updates,
      refused: this.refusedCount,
      lastRefused: this.lastRefused,
      closed: this.closing !== undefined,
    };
  }

  /** Stops the watch (the query in flight is aborted); idempotent. The last value stays readable. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(new ClosedError(`Config '${this.key}'`));
      this.removeSignalListener();
      await this.loop;
      this.changeListeners.clear();
      this.refusedListeners.clear();
      await this.afterClose();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private listeners<E>(kind: string): ListenerSet<E> {
    return new ListenerSet<E>(`${kind} listener of config '${this.key}'`, () => this.logger, {
      key: this.key,
    });
  }

  private subscribe<E>(listeners: ListenerSet<E>, listener: Listener<E>): () => void {
    if (this.closing) throw new ClosedError(`Config '${this.key}'`);
    return listeners.add(listener);
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    let pauseMs = 0;
    while (!signal.aborted) {
      try {
        if (pauseMs > 0) await delay(pauseMs, signal);
        pauseMs = await this.queryOnce(signal);
      } catch (error) {
        if (signal.aborted) break;
        pauseMs = this.recordFailure(error);
      }
    }
  }

  private async queryOnce(signal: AbortSignal): Promise<number> {
    const { format, waitMs, stale } = this.options;
    const answer = await this.source.kvGet(
      this.key,
      { recurse: format === 'tree', index: this.queryIndex, waitMs, stale },
      { signal },
    );
    if (signal.aborted) return 0;
    const decision = decideIndex(this.index, answer.meta.index);
    if (decision.outcome === 'backwards') {
      // A restarted agent or a restored snapshot: read the current state afresh, trust nothing yet.
      this.logger.info(
        { key: this.key, previousIndex: this.index, index: answer.meta.index },
        `express-consul: Consul's index for config '${this.key}' went backwards; reading again from 0`,
      );
      this.index = 0;
      this.queryIndex = 0;
    } else {
      this.index = decision.nextIndex;
      this.queryIndex = decision.nextIndex;
      this.recordAnswer();
      if (decision.outcome !== 'unchanged')
        await this.apply(answer.data, decision.nextIndex, signal);
    }
    return this.rateLimit.take(this.now());
  }

  private async apply(
    entries: readonly KvEntry[],
    index: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { format, schema, hasDefault } = this.options;
    const source = configSource(format, this.key, entries);
    if (source === this.lastSource) {
      if (!this.refusedSource) this.confirmGood();
      return;
    }
    const parsed = parseConfig(format, this.key, entries);
    if (!parsed.ok) {
      // A key that never existed, with a default: the default is the value, not a refusal.
      if (parsed.problem === 'missing' && !this.current && hasDefault) {
        this.lastSource = source;
        this.refusedSource = false;
        this.useDefault('the key does not exist');
        return;
      }
      this.refuse(source, index, new KvConfigError(this.key, parsed.problem, parsed.detail));
      return;
    }
    if (parsed.conflicts.length > 0) {
      this.logger.warn(
        { key: this.key, conflicts: parsed.conflicts },
        `express-consul: config '${this.key}': keys with keys below them were left out (${parsed.conflicts.join(', ')})`,
      );
    }
    let value: T;
    if (schema) {
      let result;
      try {
        result = await schema['~standard'].validate(parsed.value);
      } catch (error) {
        if (signal.aborted) return;
        this.refuse(
          source,
          index,
          new KvConfigError(this.key, 'invalid', 'the schema threw', { cause: error }),
        );
        return;
      }
      if (signal.aborted) return;
      if (result.issues) {
        const path = issuePath(result.issues[0]);
        this.refuse(
          source,
          index,
          new KvConfigError(
            this.key,
            'invalid',
            `refused by the schema at '${path || '(root)'}' (${result.issues.length} issue(s))`,
            { path },
          ),
        );
        return;
      }
      value = result.value;
    } else {
      value = parsed.value as T;
    }
    const previous = this.current?.value;
    this.current = { value };
    this.usingDefault = false;
    this.lastSource = source;
    this.refusedSource = false;
    this.updates += 1;
    this.confirmGood();
    this.metrics?.configUpdates.inc({ key: this.key });
    this.resolveFirst();
    this.changeListeners.emit({ key: this.key, value, previous, index });
  }

  /** True when `lastSource` was refused (so an unchanged answer does not confirm the value in use). */
  private refusedSource = false;

  private refuse(source: string, index: number, error: KvConfigError): void {
    this.lastSource = source;
    this.refusedSource = true;
    this.refusedCount += 1;
    this.lastRefused = { problem: error.problem, path: error.path, at: this.now() };
    this.metrics?.configRefused.inc({ key: this.key, problem: error.problem });
    this.logger.warn(
      {
        key: this.key,
        problem: error.problem,
        path: error.path,
        index,
        kept: this.current !== undefined,
      },
      `express-consul: config '${this.key}' change refused (${error.problem}${error.path ? ` at '${error.path}'` : ''}); ${this.current ? 'keeping the last good value' : 'no value yet'}`,
    );
    this.refusedListeners.emit({ key: this.key, error, index });
  }

  private useDefault(why: string): T {
    const value = this.options.defaultValue as T;
    this.current = { value };
    this.usingDefault = true;
    this.logger.info(
      { key: this.key },
      `express-consul: config '${this.key}': using defaultValue (${why})`,
    );
    this.resolveFirst();
    return value;
  }

  private confirmGood(): void {
    this.lastGoodAt = this.now();
    this.metrics?.configLastGood.set({ key: this.key }, this.lastGoodAt / 1000);
  }

  private recordAnswer(): void {
    if (this.consecutiveErrors > 0) {
      this.logger.info(
        { key: this.key, failedQueries: this.consecutiveErrors },
        `express-consul: watch of config '${this.key}' recovered`,
      );
    }
    this.consecutiveErrors = 0;
    this.lastError = undefined;
    this.backoff.reset();
    this.lastAnswerAt = this.now();
    if (this.current && !this.refusedSource && !this.usingDefault) this.confirmGood();
  }

  private recordFailure(failure: unknown): number {
    const error = asError(failure);
    this.consecutiveErrors += 1;
    this.lastError = error;
    // A restarted agent may have a lower index: read at once instead of blocking on ours.
    this.queryIndex = 0;
    const retryInMs = this.backoff.nextDelayMs();
    this.metrics?.configErrors.inc({ key: this.key });
    this.logger.warn(
      {
        key: this.key,
        consecutiveErrors: this.consecutiveErrors,
        retryInMs,
        code: isExpressConsulError(error) ? error.code : undefined,
        error: error.message,
      },
      `express-consul: watch of config '${this.key}' failed (${this.consecutiveErrors} in a row); keeping the last good value`,
    );
    return retryInMs;
  }
}

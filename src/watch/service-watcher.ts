import type { ConsulClient } from '../consul/consul-client';
import type { HealthServiceEntry, HealthServiceQuery } from '../consul/consul-types';
import { AbortedError, ClosedError, isExpressConsulError } from '../errors';
import { ListenerSet } from '../events/listener-set';
import type { Listener } from '../events/listener-set';
import { Backoff } from '../resilience/backoff';
import { decideIndex } from './blocking-index';
import type { ServiceInstance } from './service-instance';
import {
  isResolvedWatcherOptions,
  resolveServiceName,
  resolveServiceWatcherOptions,
} from './service-watcher-options';
import type {
  ResolvedServiceWatcherOptions,
  ServiceWatcherOptions,
} from './service-watcher-options';
import { RejectionMemory } from './rejection-memory';
import { parseAnswerInSteps } from './to-service-instance';
import type { InstanceRejection, ParsedAnswer } from './to-service-instance';
import { runAtOnce, runSliced, SLICED_APPLY_MIN_ENTRIES, TimeSlicer } from '../consul/time-slicer';
import { TokenBucket, UPDATE_BURST } from './token-bucket';
import { ALWAYS_BLOCKING } from './watch-ticket';
import type { ReadTurn, WatchTicket } from './watch-ticket';

export type {
  ServiceQueryOptions,
  ServiceWatcherOptions,
  WatchBackoffOptions,
} from './service-watcher-options';

/** Where a watcher reads health from: a ConsulClient, or anything with its `healthService`. */
export type HealthSource = Pick<ConsulClient, 'healthService'>;

/** Passed to `onChange` listeners each time the published instance list changes. */
export interface ServiceChangeEvent {
  readonly service: string;
  /** The new list: frozen, sorted by id; the same array `instances()` now returns. */
  readonly instances: readonly ServiceInstance[];
  /** The list it replaces (empty before the first change). */
  readonly previous: readonly ServiceInstance[];
  /** Consul's X-Consul-Index of the answer that carried the change (1 when Consul sent one below 1). */
  readonly index: number;
}

/** Passed to `onError` listeners for every failed query; the watch keeps going regardless. */
export interface WatchErrorEvent {
  readonly service: string;
  readonly error: Error;
  /** Failed queries in a row, this one included (1 for the first failure after a success). */
  readonly consecutiveErrors: number;
  /** Delay before the next query, in ms. */
  readonly retryInMs: number;
}

/**
 * Passed to `onInvalidInstance` listeners for each entry of Consul's answer left out as invalid,
 * once until that entry changes (not once per answer).
 */
export interface InvalidInstanceEvent extends InstanceRejection {
  readonly service: string;
}

/** A point-in-time view of a watcher's health, for readiness probes and metrics. */
export interface ServiceWatcherStatus {
  /** True once a first answer was accepted; stays true through later failures. */
  readonly ready: boolean;
  /**
   * True while the most recent query failed: the list may be out of date. A blocking query that is
   * simply waiting is not stale (Consul would answer on any change).
   */
  readonly stale: boolean;
  /** When the last answer was accepted, in ms since the epoch; undefined before the first. */
  readonly lastSuccessAt: number | undefined;
  /**
   * While stale, ms since the last accepted answer (or since `start()` when there never was one);
   * 0 when not stale.
   */
  readonly stalenessMs: number;
  /** Failed queries since the last accepted answer. */
  readonly consecutiveErrors: number;
  /** The last failure while stale; undefined when not stale. */
  readonly lastError: Error | undefined;
  /** X-Consul-Index of the last accepted answer; 0 before the first and after a reset. */
  readonly index: number;
  /** Times Consul's index went backwards and the watch restarted from index 0. */
  readonly indexResets: number;
  /** Change events published so far. */
  readonly updates: number;
  /** True once `close()` was called. */
  readonly closed: boolean;
}

const NO_INSTANCES: readonly ServiceInstance[] = Object.freeze([]);

/**
 * Invalid entries logged one line each per answer; the rest of that answer's new ones are
 * summed up in one more line, so a flood of hostile registrations cannot flood the log.
 */
const MAX_INVALID_LOG_LINES = 20;

/**
 * How long, after Consul's index went backwards, an empty list is held back when the last list
 * had instances, in ms. A restarted dev agent or a server that lost its state answers "none"
 * until the services register again (ours do within about a second) and pass their first check:
 * trusting that answer would empty every caller's routing table, and fail every call, in between.
 * An answer with instances ends the grace at once; a list still empty after it is applied.
 */
export const EMPTY_AFTER_RESET_GRACE_MS = 30_000;

export { UPDATE_BURST } from './token-bucket';

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Keeps an up-to-date list of the healthy instances of one Consul service with one blocking query
 * at a time on `/v1/health/service/:name`, following Consul's rules: the index only moves forward
 * (backwards resets it to 0; below 1, a Consul bug, waits from 1), changes are announced only when
 * the index rose and the content differs, failures back off with jitter and never empty the last
 * good list.
 *
 * The loop runs until `close()`; it never gives up, and reports every failure to `onError`
 * listeners and the logger. After a failure the next query is non-blocking (index 0), so a
 * restarted agent with a lower index is noticed at once instead of after a full `waitMs`. The rate
 * limit is a token bucket (burst UPDATE_BURST = 4, one token per `minUpdateIntervalMs`): after a
 * quiet period four changes in a row are all followed at once; a sustained burst costs one query
 * per interval.
 */
export class ServiceWatcher {
  /** Name of the watched service. */
  readonly service: string;
  private readonly options: ResolvedServiceWatcherOptions;
  private readonly backoff: Backoff;
  private readonly rateLimit: TokenBucket;
  private readonly abort = new AbortController();
  private readonly changeListeners: ListenerSet<ServiceChangeEvent>;
  private readonly errorListeners: ListenerSet<WatchErrorEvent>;
  private readonly invalidListeners: ListenerSet<InvalidInstanceEvent>;
  private readonly rejections = new RejectionMemory();

  private snapshot: readonly ServiceInstance[] = NO_INSTANCES;
  /** Index of the last accepted answer: what "backwards" is judged against. */
  private index = 0;
  /** Index sent with the next query; 0 (non-blocking) after a failure or a reset. */
  private queryIndex = 0;
  private indexResets = 0;
  /** True while Consul's answers come with an index below 1 (only the first one is logged). */
  private indexBelowOne = false;
  /** When Consul's index last went backwards (an agent or server restarted), until trusted again. */
  private resetAt: number | undefined;
  /** An empty answer is being held back after a reset; the last list is still served. */
  private holdingEmpty = false;
  private updates = 0;
  private uses = 0;
  private ticket: WatchTicket = ALWAYS_BLOCKING;
  private consecutiveErrors = 0;
  private lastError: Error | undefined;
  private lastSuccessAt: number | undefined;
  private startedAt: number | undefined;
  private isReady = false;

  private readonly readyGate: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /**
   * `options`: raw ServiceWatcherOptions (validated here; ConfigErrors under `watch.`), or options
   * a WatcherRegistry resolved once for all its watchers, taken as they are.
   */
  constructor(
    private readonly source: HealthSource,
    service: string,
    options: ServiceWatcherOptions | ResolvedServiceWatcherOptions = {},
  ) {
    this.service = resolveServiceName(service);
    this.options = isResolvedWatcherOptions(options)
      ? options
      : resolveServiceWatcherOptions(options);
    this.backoff = new Backoff(this.options.backoff, this.options.random);
    this.rateLimit = new TokenBucket(UPDATE_BURST, this.options.minUpdateIntervalMs);
    const listeners = <E>(kind: string): ListenerSet<E> =>
      new ListenerSet<E>(
        `${kind} listener of the '${this.service}' watch`,
        () => this.options.logger,
        { service: this.service },
      );
    this.changeListeners = listeners('change');
    this.errorListeners = listeners('error');
    this.invalidListeners = listeners('invalid instance');
    this.readyGate = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Closing before the first answer rejects the gate; nobody may be waiting on it.
    this.readyGate.catch(() => {});
  }

  /**
   * Counts one call that used this watch's list: a WatchScheduler gives its blocking slots to the
   * most called services. A counter increment, nothing more (it runs once per outbound request).
   */
  noteUse(): void {
    this.uses += 1;
  }

  /** Calls counted by `noteUse()` so far. */
  get useCount(): number {
    return this.uses;
  }

  /** X-Consul-Index of the last accepted answer (0 before the first). */
  get lastIndex(): number {
    return this.index;
  }

  /**
   * Puts the watch under a scheduler (before `start()`): it then blocks only while the ticket holds
   * a slot, and otherwise reads once each time the ticket says its service changed.
   */
  schedule(ticket: WatchTicket): void {
    if (this.loop) throw new Error(`ServiceWatcher '${this.service}' is already started`);
    this.ticket = ticket;
  }

  /** Starts the watch loop; later calls do nothing. Throws ClosedError after `close()`. */
  start(): void {
    if (this.closing) throw new ClosedError(`ServiceWatcher '${this.service}'`);
    if (this.loop) return;
    this.startedAt = this.options.now();
    this.loop = this.run();
  }

  /**
   * Starts the watch if needed and resolves once Consul answered for the first time (the list may
   * be empty). While Consul cannot be reached it keeps retrying and this stays pending: pass a
   * signal (e.g. `AbortSignal.timeout(5000)`) to bound the wait; it then rejects with AbortedError
   * naming the last failure. Rejects with ClosedError when the watcher is closed first.
   */
  async ready(signal?: AbortSignal): Promise<void> {
    this.start();
    if (this.isReady) return;
    if (!signal) return this.readyGate;
    if (signal.aborted) throw this.notReadyError(signal);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(this.notReadyError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.readyGate.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(asError(error));
        },
      );
    });
  }

  /**
   * The current healthy instances: a frozen array sorted by id, the same object until the next
   * change (so `===` tells whether anything changed). Empty before the first answer. Still answers
   * after `close()`, with the last list.
   */
  instances(): readonly ServiceInstance[] {
    return this.snapshot;
  }

  /**
   * Calls `listener` after each change of the list (not for the current list: read `instances()`
   * after subscribing). Returns a function that unsubscribes. A throwing listener is logged and
   * does not disturb the watch or the other listeners.
   */
  onChange(listener: Listener<ServiceChangeEvent>): () => void {
    return this.subscribe(this.changeListeners, listener);
  }

  /** Calls `listener` after each failed query. Returns a function that unsubscribes. */
  onError(listener: Listener<WatchErrorEvent>): () => void {
    return this.subscribe(this.errorListeners, listener);
  }

  /**
   * Calls `listener` for each entry of Consul's answer left out as invalid (bad address, port,
   * weights, tags, meta or identity, or a duplicate), once until that entry changes. Each is also
   * logged once. Returns a function that unsubscribes.
   */
  onInvalidInstance(listener: Listener<InvalidInstanceEvent>): () => void {
    return this.subscribe(this.invalidListeners, listener);
  }

  /** Current health of the watch; see ServiceWatcherStatus for each field's meaning. */
  status(): ServiceWatcherStatus {
    const stale = this.consecutiveErrors > 0;
    const since = this.lastSuccessAt ?? this.startedAt;
    return {
      ready: this.isReady,
      stale,
      lastSuccessAt: this.lastSuccessAt,
      stalenessMs: stale && since !== undefined ? Math.max(0, this.options.now() - since) : 0,
      consecutiveErrors: this.consecutiveErrors,
      lastError: stale ? this.lastError : undefined,
      index: this.index,
      indexResets: this.indexResets,
      updates: this.updates,
      closed: this.closing !== undefined,
    };
  }

  /**
   * Aborts the query in flight at once and resolves when the loop has ended. Idempotent: later
   * calls return the same promise. A pending `ready()` rejects with ClosedError.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    const closed = new ClosedError(`ServiceWatcher '${this.service}'`);
    this.abort.abort(closed);
    if (!this.isReady) this.rejectReady(closed);
    await this.loop;
    this.ticket.release();
    this.changeListeners.clear();
    this.errorListeners.clear();
    this.invalidListeners.clear();
  }

  private subscribe<E>(listeners: ListenerSet<E>, listener: Listener<E>): () => void {
    if (this.closing) throw new ClosedError(`ServiceWatcher '${this.service}'`);
    return listeners.add(listener);
  }

  private notReadyError(signal: AbortSignal): AbortedError {
    const last = this.lastError ? `; last error: ${this.lastError.message}` : '';
    return new AbortedError(
      `Stopped waiting for the first answer about service '${this.service}'${last}`,
      { cause: signal.reason },
    );
  }

  /** The loop: never rejects; ends only when the abort signal fired. */
  private async run(): Promise<void> {
    const { signal } = this.abort;
    // The first query spends a token too, so that a burst is `UPDATE_BURST` queries from the start.
    let pauseMs = this.rateLimit.take(this.options.now());
    while (!signal.aborted) {
      let turn: ReadTurn | undefined;
      let result: 'read' | 'failed' = 'read';
      try {
        if (pauseMs > 0) await this.options.delay(pauseMs, signal);
        turn = await this.ticket.nextTurn(signal);
        pauseMs = await this.queryOnce(signal, turn);
      } catch (error) {
        if (signal.aborted) break;
        // The scheduler gave the slot to a busier service: not a failure, read again as told.
        if (turn?.slotLost?.aborted) pauseMs = 0;
        else {
          pauseMs = this.recordFailure(error);
          result = 'failed';
        }
      } finally {
        turn?.done(result);
      }
    }
  }

  /** Runs one query and applies its answer; returns the pause before the next one, in ms. */
  private async queryOnce(signal: AbortSignal, turn: ReadTurn): Promise<number> {
    const { now, waitMs, query } = this.options;
    // Without a slot, one non-blocking read: the index rules below still judge its answer.
    const request: HealthServiceQuery = {
      ...query,
      index: turn.blocking ? this.queryIndex : 0,
      waitMs,
    };
    const querySignal = turn.slotLost ? AbortSignal.any([signal, turn.slotLost]) : signal;
    const answer = await this.source.healthService(this.service, request, {
      signal: querySignal,
    });
    // Closed while the answer was on its way: publish nothing more.
    if (signal.aborted) return 0;

    const decision = decideIndex(this.index, answer.meta.index);
    let applying: Promise<void> | undefined;
    switch (decision.outcome) {
      case 'backwards':
        this.options.logger.info(
          { service: this.service, previousIndex: this.index, index: answer.meta.index },
          `express-consul: Consul's index for '${this.service}' went backwards; watching again from 0`,
        );
        this.indexResets += 1;
        this.index = 0;
        this.queryIndex = 0;
        this.resetAt = now();
        break;
      case 'unchanged':
        this.queryIndex = this.index;
        // The grace ran out with no new answer: the empty list held back is the truth after all.
        if (this.holdingEmpty && !this.inResetGrace()) this.publish(this.index, this.parse([]));
        else this.recordSuccess();
        break;
      case 'belowOne':
        // Consul's own bug: the data is still its current state, only the index is unusable.
        // Waiting from 1 blocks (0 would not) and any real index is above it. Logged once per
        // run of such answers: a Consul that keeps doing it would otherwise flood the log.
        if (!this.indexBelowOne) {
          this.options.logger.warn(
            { service: this.service, index: answer.meta.index },
            `express-consul: Consul sent X-Consul-Index ${String(answer.meta.index)} for '${this.service}'; waiting from 1`,
          );
        }
        this.indexBelowOne = true;
        applying = this.accept(decision.nextIndex, answer.data, signal);
        break;
      case 'advanced':
        this.indexBelowOne = false;
        applying = this.accept(decision.nextIndex, answer.data, signal);
        break;
    }
    // Awaited only for a large answer: a small one was published in this tick.
    if (applying !== undefined) await applying;
    // The token of the next query, taken now: its wait is the pause before it.
    return this.rateLimit.take(now());
  }

  /** Whether a recent index reset still makes an empty answer suspect. */
  private inResetGrace(): boolean {
    return (
      this.resetAt !== undefined && this.options.now() - this.resetAt < EMPTY_AFTER_RESET_GRACE_MS
    );
  }

  /**
   * Parses the answer and publishes it (see `publish`). A large answer (SLICED_APPLY_MIN_ENTRIES
   * or more) is parsed in slices of APPLY_SLICE_MS, giving the service's own requests the event
   * loop in between; nothing of it is visible until the whole list is built, and a watcher closed
   * meanwhile drops it. The loop reads one answer at a time, so no newer answer can arrive while
   * one is applied. A small one is parsed and published in the tick it arrived: no `await`, so
   * it costs no turn of the event loop (this function then returns no promise).
   */
  private accept(
    index: number,
    entries: readonly HealthServiceEntry[],
    signal: AbortSignal,
  ): Promise<void> | undefined {
    if (entries.length < SLICED_APPLY_MIN_ENTRIES) {
      this.publish(index, this.parse(entries));
      return undefined;
    }
    return runSliced(parseAnswerInSteps(entries, this.snapshot), new TimeSlicer({ signal })).then(
      (parsed) => {
        // Closed during the last slice: publish nothing more.
        if (!signal.aborted) this.publish(index, parsed);
      },
    );
  }

  private parse(entries: readonly HealthServiceEntry[]): ParsedAnswer {
    return runAtOnce(parseAnswerInSteps(entries, this.snapshot));
  }

  /**
   * Adopts `index` and the parsed list, announcing the list only when its content changed.
   * Right after an index reset, an empty list does not replace a non-empty one (see
   * EMPTY_AFTER_RESET_GRACE_MS): the index is adopted, the list is held back.
   */
  private publish(index: number, parsed: ParsedAnswer): void {
    const { instances: next, rejected, changed } = parsed;
    this.reportInvalid(rejected);
    const previous = this.snapshot;
    this.index = index;
    this.queryIndex = index;
    if (next.length === 0 && previous.length > 0 && this.inResetGrace()) {
      if (!this.holdingEmpty) {
        this.options.logger.warn(
          { service: this.service, kept: previous.length, graceMs: EMPTY_AFTER_RESET_GRACE_MS },
          `express-consul: Consul restarted and lists no '${this.service}' yet; keeping the last list while instances register again`,
        );
      }
      this.holdingEmpty = true;
      this.recordSuccess();
      return;
    }
    this.holdingEmpty = false;
    if (next.length > 0 || !this.inResetGrace()) this.resetAt = undefined;
    if (changed) this.snapshot = next;
    this.recordSuccess();
    if (changed) {
      this.updates += 1;
      this.changeListeners.emit({ service: this.service, instances: next, previous, index });
    }
  }

  /** Logs and announces the invalid entries not reported for the previous answer. */
  private reportInvalid(rejected: readonly InstanceRejection[]): void {
    const fresh = this.rejections.update(rejected);
    for (const [i, rejection] of fresh.entries()) {
      if (i < MAX_INVALID_LOG_LINES) {
        this.options.logger.warn(
          {
            service: this.service,
            instance: rejection.identity,
            reason: rejection.reason,
            detail: rejection.detail,
          },
          `express-consul: left out an invalid instance of '${this.service}' (${rejection.reason}): ${rejection.detail}`,
        );
      }
      this.invalidListeners.emit({ ...rejection, service: this.service });
    }
    if (fresh.length > MAX_INVALID_LOG_LINES) {
      this.options.logger.warn(
        { service: this.service, more: fresh.length - MAX_INVALID_LOG_LINES },
        `express-consul: left out ${fresh.length - MAX_INVALID_LOG_LINES} more invalid instances of '${this.service}'`,
      );
    }
  }

  private recordSuccess(): void {
    if (this.consecutiveErrors > 0) {
      this.options.logger.info(
        { service: this.service, failedQueries: this.consecutiveErrors },
        `express-consul: watch of '${this.service}' recovered`,
      );
    }
    this.consecutiveErrors = 0;
    this.lastError = undefined;
    this.backoff.reset();
    this.lastSuccessAt = this.options.now();
    if (!this.isReady) {
      this.isReady = true;
      this.resolveReady();
    }
  }

  /** Records a failed query, tells listeners and the logger; returns the backoff delay in ms. */
  private recordFailure(failure: unknown): number {
    const error = asError(failure);
    this.consecutiveErrors += 1;
    this.lastError = error;
    // A restarted agent or server may have a lower index; blocking on ours would then hang for
    // the whole wait before Consul shows it. The non-blocking read that follows is cheap and the
    // index rules still apply to it (an unchanged list is not announced).
    this.queryIndex = 0;
    const retryInMs = this.backoff.nextDelayMs();
    this.options.logger.warn(
      {
        service: this.service,
        consecutiveErrors: this.consecutiveErrors,
        retryInMs,
        code: isExpressConsulError(error) ? error.code : undefined,
        status: (error as { status?: unknown }).status,
        error: error.message,
      },
      `express-consul: watch of '${this.service}' failed (${this.consecutiveErrors} in a row); keeping the last list`,
    );
    this.errorListeners.emit({
      service: this.service,
      error,
      consecutiveErrors: this.consecutiveErrors,
      retryInMs,
    });
    return retryInMs;
  }
}

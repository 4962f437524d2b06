// A scripted stand-in for ConsulClient.healthService, for unit tests of the watch loop only.
import type { CallOptions, ConsulQueryResult } from '../../src/consul/consul-client';
import type { HealthServiceEntry, HealthServiceQuery } from '../../src/consul/consul-types';
import { AbortedError } from '../../src/errors';
import type { HealthSource } from '../../src/watch/service-watcher';

/** One scripted answer: data with an index, a failure, or a query that blocks until aborted. */
export type Step =
  | { readonly answer: HealthServiceEntry[]; readonly index: number | undefined }
  | { readonly fail: Error }
  | { readonly block: true }
  /** Answers with the step `later` resolves to, when the test resolves it. */
  | { readonly later: Promise<Step> };

/** A query the watcher made, as the fake saw it. */
export interface RecordedCall {
  readonly service: string;
  readonly query: HealthServiceQuery;
  /** performance.now() when the call was made. */
  readonly at: number;
  readonly signal: AbortSignal | undefined;
}

/** Answers queries from a script; once the script is used up, every query blocks until aborted. */
export class ScriptedHealthSource implements HealthSource {
  readonly calls: RecordedCall[] = [];
  /**
   * Called with the 1-based number of each query before it is answered: lets a test move a
   * simulated clock to when the answer comes (e.g. after a blocking query waited 10 s).
   */
  beforeAnswer: ((call: number) => void) | undefined;

  /** ConsulClient's 429 feed, which a Discovery with metrics subscribes to: this agent never refuses. */
  onThrottled(): () => void {
    return () => {};
  }
  private readonly steps: Step[];
  private readonly callWaiters: { count: number; resolve: () => void }[] = [];

  constructor(steps: Step[] = []) {
    this.steps = [...steps];
  }

  /** Appends steps to the script. */
  push(...steps: Step[]): void {
    this.steps.push(...steps);
  }

  /** Resolves once at least `count` queries have been made. */
  async waitForCalls(count: number): Promise<RecordedCall> {
    if (this.calls.length < count) {
      await new Promise<void>((resolve) => this.callWaiters.push({ count, resolve }));
    }
    return this.calls[count - 1]!;
  }

  healthService(
    service: string,
    query: HealthServiceQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<HealthServiceEntry[]>> {
    this.calls.push({
      service,
      query: { ...query },
      at: performance.now(),
      signal: options.signal,
    });
    for (const waiter of this.callWaiters.filter((w) => this.calls.length >= w.count)) {
      this.callWaiters.splice(this.callWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    this.beforeAnswer?.(this.calls.length);
    const step = this.steps.shift() ?? { block: true };
    if ('later' in step) return step.later.then((next) => this.answerWith(next, options));
    return this.answerWith(step, options);
  }

  private answerWith(
    step: Step,
    options: CallOptions,
  ): Promise<ConsulQueryResult<HealthServiceEntry[]>> {
    if ('later' in step) return Promise.reject(new Error('a later step cannot resolve to another'));
    if ('fail' in step) return Promise.reject(step.fail);
    if ('answer' in step) {
      return Promise.resolve({
        data: step.answer,
        meta: { index: step.index, knownLeader: true, lastContactMs: 0, cache: undefined },
      });
    }
    // Like a blocking query that no change ends: only the caller's signal stops it.
    return new Promise((_resolve, reject) => {
      const signal = options.signal;
      const abort = (): void => reject(new AbortedError('aborted', { cause: signal?.reason }));
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

/** A health entry with the given service id and optional details. */
export function healthEntry(
  id: string,
  details: {
    service?: string;
    address?: string;
    nodeAddress?: string;
    port?: number;
    tags?: string[] | null;
    meta?: Record<string, string> | null;
    weights?: { Passing: number; Warning: number };
    checks?: HealthServiceEntry['Checks'][number]['Status'][];
  } = {},
): HealthServiceEntry {
  const service = details.service ?? 'web';
  return {
    Node: { Node: 'node-1', Address: details.nodeAddress ?? '127.0.0.1' },
    Service: {
      ID: id,
      Service: service,
      Address: details.address ?? '',
      Port: details.port ?? 8080,
      Tags: details.tags === undefined ? [] : details.tags,
      Meta: details.meta === undefined ? {} : details.meta,
      ...(details.weights && { Weights: details.weights }),
    },
    Checks: (details.checks ?? ['passing']).map((Status, i) => ({
      Node: 'node-1',
      CheckID: `check-${i}`,
      Name: `check ${i}`,
      Status,
      ServiceID: id,
      ServiceName: service,
    })),
  };
}

/** Collects events and hands them out in order, awaiting the ones that have not happened yet. */
export class EventQueue<E> {
  readonly seen: E[] = [];
  private taken = 0;
  private waiter: (() => void) | undefined;

  /** Pass this as the listener. */
  readonly push = (event: E): void => {
    this.seen.push(event);
    this.waiter?.();
    this.waiter = undefined;
  };

  /** The next event not yet taken, waiting for it if needed. */
  async next(): Promise<E> {
    while (this.seen.length <= this.taken) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.seen[this.taken++]!;
  }
}

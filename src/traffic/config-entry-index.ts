// Which services have traffic-management config entries, so that only those pay for a discovery
// chain. A service named by none of the three lists (`/v1/config/service-resolver`, `-splitter`,
// `-router`) compiles to Consul's default chain (one resolver, its own instances), which is
// exactly what the plain health watch already follows, so it keeps today's path and cost. The
// lists change when an entry is written, so a service gains (or loses) its chain live.
//
// Three blocking queries per process (one per list), whatever the number of chains. Consul keeps
// one index for all config entries (every write of any kind moves the X-Consul-Index of every
// list and chain), but wakes a blocking query only for writes of what it read (measured on
// 1.16.3: a splitter write woke the splitter list and that service's chain within 10 ms; the
// resolver and service-defaults lists and another chain slept their whole wait). A write to a
// resolver, splitter or router of any service wakes one of the lists, so the chains of this
// datacenter read without blocking when a list answers with a new index (`followingRead`). A
// blocking query per chain took a watch-lane slot each: 20 services with entries left the health
// watches none, and over HTTP/1.1 the ones past the lane's connections waited in its queue.
// Not followed: a service-defaults or proxy-defaults write alone, which changes only a chain's
// protocol (routing does not read it); it shows at the chain's next read, within `watch.waitMs`.
import type { ConsulClient } from '../consul/consul-client';
import {
  AbortedError,
  DiscoveryChainError,
  isConsulAclError,
  NoHealthyInstancesError,
} from '../errors';
import { ListenerSet } from '../events/listener-set';
import type { Logger } from '../logger';
import type { BackoffOptions } from '../resilience/backoff';
import { BlockingValue } from './blocking-value';
import type { BlockingAnswer, BlockingValueOptions } from './blocking-value';

/** The config-entry kinds that shape a discovery chain's routing. */
export const TRAFFIC_ENTRY_KINDS = [
  'service-resolver',
  'service-splitter',
  'service-router',
] as const;

/** What the traffic watches read from Consul (a ConsulClient). */
export type TrafficSource = Pick<ConsulClient, 'configEntries' | 'discoveryChain'>;

/** Settings shared by every traffic watch (the health watch's, resolved by Discovery). */
export interface TrafficWatchSettings {
  /** Longest wait of a blocking read, in ms. */
  readonly waitMs: number;
  /** The health watch's rate limit: one of UPDATE_BURST read tokens earned back per this, in ms. */
  readonly minUpdateIntervalMs: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  readonly random?: () => number;
  /** Room for one blocking query on the watch lane, per watch (see BlockingValueOptions). */
  readonly reserveBlocking?: () => () => void;
}

/** The lower-cased names of the entries of one kind, from Consul's list of it. */
export function entryNames(kind: string, data: unknown): ReadonlySet<string> {
  if (!Array.isArray(data)) throw new DiscoveryChainError(`config/${kind}`, 'not a list');
  const names = new Set<string>();
  data.forEach((entry: unknown, i) => {
    const name = (entry as { Name?: unknown } | null)?.Name;
    if (typeof name !== 'string' || name === '') {
      throw new DiscoveryChainError(`config/${kind}[${i}].Name`, 'not a non-empty string');
    }
    names.add(name.toLowerCase());
  });
  return names;
}

/** Follows the three lists; `has(name)` says whether a service has an entry of any kind. */
export class ConfigEntryIndex {
  private readonly lists: readonly BlockingValue<ReadonlySet<string>>[];
  private readonly listeners: ListenerSet<void>;

  /** The X-Consul-Index of the lists' last answer: Consul's one index of config entries (0 before any). */
  private lastIndex = 0;
  private readonly indexWaiters = new Set<() => void>();

  constructor(source: TrafficSource, settings: TrafficWatchSettings) {
    this.listeners = new ListenerSet<void>('config-entry index listener', () => settings.logger);
    this.lists = TRAFFIC_ENTRY_KINDS.map((kind) => {
      const list = new BlockingValue<ReadonlySet<string>>({
        what: `list of ${kind} config entries`,
        read: async (index, waitMs, signal) => {
          const answer = await source.configEntries(kind, index > 0 ? { index, waitMs } : {}, {
            signal,
          });
          this.tick(answer.meta.index);
          return { data: answer.data, index: answer.meta.index };
        },
        parse: (data) => entryNames(kind, data),
        ...settings,
        // An ACL refusal is Consul's answer (no entries we may read); any other failure tells
        // nothing, and a first call must not take it for "no entries".
        settlesOnError: (error) => isConsulAclError(error),
      });
      list.onChange(() => this.listeners.emit());
      return list;
    });
  }

  /**
   * A BlockingValue `read` over `read`, a plain (non-blocking) read of config-entry data: its
   * first read, and any read after a failure (index 0), goes at once; the others wait until a
   * list answered with another index than at the read before (or `waitMs`, as a blocking query
   * would), then read. Each
   * call gives one loop's reads (it keeps the index the loop last read at).
   */
  followingRead(
    read: (signal: AbortSignal) => Promise<BlockingAnswer>,
  ): BlockingValueOptions<unknown>['read'] {
    let readAt: number | undefined;
    return async (index, waitMs, signal) => {
      if (index > 0 && readAt !== undefined) await this.indexMoved(readAt, waitMs, signal);
      readAt = this.lastIndex;
      return read(signal);
    };
  }

  /** Resolves when the index is no longer `since`, after `waitMs`, or rejects when `signal` aborts. */
  private indexMoved(since: number, waitMs: number, signal: AbortSignal): Promise<void> {
    if (this.lastIndex !== since) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.indexWaiters.delete(wake);
      };
      const wake = (): void => {
        stop();
        resolve();
      };
      const onAbort = (): void => {
        stop();
        reject(new AbortedError('watch closed', { cause: signal.reason }));
      };
      const timer = setTimeout(wake, waitMs);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.indexWaiters.add(wake);
    });
  }

  /** A list's answer: a new index (higher, or lower after an agent restart) wakes the followers. */
  private tick(index: number | undefined): void {
    if (index === undefined || index === this.lastIndex) return;
    this.lastIndex = index;
    for (const wake of [...this.indexWaiters]) wake();
  }

  start(): void {
    for (const list of this.lists) list.start();
  }

  /** Whether every list has answered once (until then `has` may miss a service). */
  get ready(): boolean {
    return this.lists.every((list) => list.value !== undefined);
  }

  /**
   * Resolves once every list answered: a list Consul refuses (ACL) counts as no entries rather
   * than holding every first call back; other failures do not count. Throws NoHealthyInstancesError
   * (`discovery_timeout`) for `service` when `signal` aborts first: until the lists answer, a
   * service's resolver subsets are unknown and its plain table could hold the wrong instances.
   */
  async whenReady(service: string, signal: AbortSignal): Promise<void> {
    await Promise.all(this.lists.map((list) => list.settled(signal)));
    if (!this.lists.every((list) => list.isSettled)) {
      throw new NoHealthyInstancesError(
        service,
        'traffic management: the config-entry lists had no answer from Consul in time',
        'discovery_timeout',
      );
    }
  }

  /** Whether `name` (any case) has a resolver, splitter or router entry. */
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.lists.some((list) => list.value?.has(key) === true);
  }

  /** Called when any list changed. */
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    await Promise.all(this.lists.map((list) => list.close()));
  }
}

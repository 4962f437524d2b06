import { ClosedError } from '../errors';
import { ListenerSet } from '../events/listener-set';
import type { Logger } from '../logger';
import type { ControlPlaneMetrics } from '../kv/kv-metrics';
import { Backoff } from '../resilience/backoff';
import { delay } from '../resilience/delay';
import type { ConsulLock, LockLease } from './consul-lock';

/** Options of `consul.leader(name, options)`. */
export interface LeaderOptions {
  /**
   * Runs each time this process becomes the leader. `signal` aborts as soon as leadership may be
   * lost (session invalidated, check critical, Consul unreachable for nearly the lock delay,
   * drain): stop leader-only work then. Resolving keeps leadership; rejecting resigns it (logged)
   * and contends again after a backoff.
   */
  readonly onElected: (signal: AbortSignal) => void | Promise<void>;
  /** Consul's LockDelay, in ms (1000 to 60000). Default: 15000. */
  readonly lockDelayMs?: number;
}

/** Where an election stands, for the admin view and `express-consul status`. */
export interface LeaderStatus {
  readonly name: string;
  readonly key: string;
  readonly leader: boolean;
  /** When this process became leader, in ms since the epoch; undefined when it is not. */
  readonly since: number | undefined;
  /** Times this process became leader. */
  readonly terms: number;
  readonly closed: boolean;
}

/**
 * Leader election on a Consul lock: contends for the lock, runs `onElected(signal)` while holding
 * it, contends again when it is lost. `close()` (the adapter's drain calls it first) releases the
 * lock before anything else, so another instance takes over at once instead of after the lock delay.
 */
export class LeaderElection {
  private readonly stop = new AbortController();
  private lease: LockLease | undefined;
  private since: number | undefined;
  private terms = 0;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly listeners: ListenerSet<boolean>;

  constructor(
    readonly name: string,
    private readonly lock: ConsulLock,
    private readonly options: LeaderOptions,
    private readonly logger: Logger,
    private readonly metrics: ControlPlaneMetrics | undefined,
  ) {
    this.listeners = new ListenerSet(`leader listener of '${name}'`, () => logger, { name });
  }

  /** True while this process holds the leadership. */
  get isLeader(): boolean {
    return this.lease?.held ?? false;
  }

  /** Starts contending; later calls do nothing. */
  start(): void {
    if (this.closing) throw new ClosedError(`Leader election '${this.name}'`);
    this.loop ??= this.run();
  }

  /** Calls `listener(true)` on election and `listener(false)` on loss; returns the unsubscriber. */
  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  status(): LeaderStatus {
    return {
      name: this.name,
      key: this.lock.key,
      leader: this.isLeader,
      since: this.isLeader ? this.since : undefined,
      terms: this.terms,
      closed: this.closing !== undefined,
    };
  }

  /** Resigns (the lock is released first, the elected signal aborts) and stops contending; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort(new ClosedError(`Leader election '${this.name}'`));
      await this.lock.close();
      await this.loop;
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ baseMs: 250, maxMs: 4_000 });
    const { signal } = this.stop;
    while (!signal.aborted) {
      let lease: LockLease;
      try {
        lease = await this.lock.acquire({ signal });
      } catch (error) {
        if (signal.aborted) break;
        // ACL denial: retrying will not help soon, but a token can be granted; back off and say so.
        this.logger.error(
          { name: this.name, error: (error as Error).message },
          `express-consul: leader election '${this.name}' cannot contend`,
        );
        await delay(backoff.nextDelayMs(), signal).catch(() => undefined);
        continue;
      }
      this.elected(lease);
      let resign = false;
      try {
        await this.options.onElected(lease.signal);
      } catch (error) {
        if (!lease.signal.aborted) {
          resign = true;
          this.logger.error(
            { name: this.name, error: (error as Error).message },
            `express-consul: onElected of '${this.name}' failed; resigning`,
          );
        }
      }
      if (resign) {
        await lease.release();
        await delay(backoff.nextDelayMs(), signal).catch(() => undefined);
      } else {
        backoff.reset();
        await new Promise<void>((resolve) => {
          if (lease.signal.aborted) resolve();
          else lease.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      this.demoted(lease);
    }
  }

  private elected(lease: LockLease): void {
    this.lease = lease;
    this.since = Date.now();
    this.terms += 1;
    this.metrics?.leader.set({ name: this.name }, 1);
    this.metrics?.leaderTransitions.inc({ name: this.name, to: 'leader' });
    this.logger.info(
      { name: this.name, key: this.lock.key },
      `express-consul: elected leader of '${this.name}'`,
    );
    this.tell(true);
    lease.signal.addEventListener(
      'abort',
      () => {
        this.metrics?.leader.set({ name: this.name }, 0);
        this.metrics?.leaderTransitions.inc({ name: this.name, to: 'follower' });
        this.logger.info(
          { name: this.name, reason: (lease.signal.reason as Error | undefined)?.message },
          `express-consul: no longer leader of '${this.name}'`,
        );
        this.tell(false);
      },
      { once: true },
    );
  }

  private demoted(lease: LockLease): void {
    if (this.lease === lease) this.since = undefined;
  }

  private tell(leader: boolean): void {
    this.listeners.emit(leader);
  }
}

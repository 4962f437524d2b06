import type { ConsulClient } from '../consul/consul-client';
import {
  AbortedError,
  ClosedError,
  ConsulAclError,
  ConsulUnavailableError,
  LeaseLostError,
  LockHeldError,
} from '../errors';
import type { Logger } from '../logger';
import { Backoff } from '../resilience/backoff';
import { delay } from '../resilience/delay';
import { goMs } from './lock-options';
import type { ResolvedLockOptions } from './lock-options';

/** The Consul calls a lock needs. */
export type LockClient = Pick<
  ConsulClient,
  'kvGet' | 'kvAcquire' | 'kvRelease' | 'sessionCreate' | 'sessionDestroy'
>;

/** Options of one `acquire()`. */
export interface AcquireOptions {
  /** Stops waiting (AbortedError). */
  readonly signal?: AbortSignal;
  /** Wait until the lock is free (default), or fail at once with LockHeldError when it is held. */
  readonly wait?: boolean;
}

/** How often a contender retries while a freed key is in its lock delay, in ms. */
const LOCK_DELAY_POLL_MS = 200;

/**
 * A held lock. Its `signal` aborts as soon as the lock may be lost: Consul released it (the session
 * was invalidated: a check turned critical, the node left), or Consul has not confirmed it for
 * nearly the lock delay (after which another session could take it), or it was released.
 */
export class LockLease {
  /** When the lock was taken, in ms since the epoch. */
  readonly acquiredAt = Date.now();
  private readonly controller = new AbortController();
  private releasing: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly onRelease: () => Promise<void>,
  ) {}

  /** Aborts (reason: LeaseLostError) as soon as the lock may no longer be held. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True until the lease is lost or released. */
  get held(): boolean {
    return !this.controller.signal.aborted;
  }

  /** Releases the lock (no lock delay: a contender takes it at once); idempotent. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      // Stop acting as holder before Consul lets anyone else in.
      this.lose('released', 'released by its holder');
      await this.onRelease();
    })();
    return this.releasing;
  }

  /** @internal */
  lose(reason: LeaseLostError['reason'], detail: string): void {
    if (!this.controller.signal.aborted) {
      this.controller.abort(new LeaseLostError(this.key, reason, detail));
    }
  }
}

/**
 * A lock on one Consul KV key through a session bound to this service's health check and the
 * node's `serfHealth` (`Behavior: release`, `LockDelay`), so a crashed or unhealthy holder loses it
 * without any TTL to renew. At most one session holds a key; while held, a blocking query on the
 * key confirms it, and the lease ends as soon as it may be lost.
 */
export class ConsulLock {
  readonly key: string;
  private session: string | undefined;
  private lease: LockLease | undefined;
  private readonly closeController = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: LockClient,
    private readonly options: ResolvedLockOptions,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.key = options.key;
  }

  /** The lease held now, if any. */
  get current(): LockLease | undefined {
    return this.lease?.held ? this.lease : undefined;
  }

  /**
   * Takes the lock, waiting while another session holds it (or failing at once with
   * LockHeldError when `wait: false`). Rejects with ConsulAclError when the token lacks
   * `session:write` / `key:write`, with ConsulUnavailableError (wait: false) when Consul cannot be
   * reached or the service's check is not passing yet; while waiting those are retried with backoff.
   */
  async acquire(options: AcquireOptions = {}): Promise<LockLease> {
    if (this.closing) throw new ClosedError(`Lock '${this.key}'`);
    if (this.lease?.held) return this.lease;
    const wait = options.wait ?? true;
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closeController.signal])
      : this.closeController.signal;
    const backoff = new Backoff(this.options.retry, this.random);
    for (;;) {
      if (signal.aborted) throw this.abortedError(signal);
      try {
        const session = await this.ensureSession(signal);
        const requestedAt = Date.now();
        if (await this.client.kvAcquire(this.key, session, this.options.holder, { signal })) {
          return this.startLease(session, requestedAt);
        }
        const { data, meta } = await this.client.kvGet(this.key, {}, { signal });
        const holder = data[0]?.Session;
        if (!wait) throw new LockHeldError(this.key, holder);
        if (holder === undefined) {
          // Free but refused: the key is in a lock delay after an invalidated session.
          await delay(LOCK_DELAY_POLL_MS, signal);
        } else {
          // Held: block until the key changes (its holder releasing it), then contend again.
          await this.client.kvGet(this.key, { index: meta.index ?? 1, waitMs: 30_000 }, { signal });
        }
        backoff.reset();
      } catch (error) {
        if (signal.aborted) throw this.abortedError(signal);
        if (error instanceof ConsulAclError || error instanceof LockHeldError) throw error;
        if (!wait) throw error;
        if (isInvalidSession(error)) this.session = undefined;
        const retryInMs = backoff.nextDelayMs();
        this.logger.warn(
          { key: this.key, retryInMs, error: (error as Error).message },
          `express-consul: could not contend for lock '${this.key}'; retrying`,
        );
        await delay(retryInMs, signal).catch(() => undefined);
      }
    }
  }

  /** Releases the lock if held and destroys the session; idempotent. Later `acquire()` throws ClosedError. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeController.abort(new ClosedError(`Lock '${this.key}'`));
      await this.lease?.release();
      const session = this.session;
      this.session = undefined;
      if (session !== undefined) {
        await this.client.sessionDestroy(session).catch((error: unknown) => {
          this.logger.warn(
            { key: this.key, error: (error as Error).message },
            `express-consul: could not destroy the session of lock '${this.key}'`,
          );
        });
      }
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private abortedError(signal: AbortSignal): Error {
    if (this.closing) return new ClosedError(`Lock '${this.key}'`);
    return new AbortedError(`Stopped waiting for lock '${this.key}'`, { cause: signal.reason });
  }

  private async ensureSession(signal: AbortSignal): Promise<string> {
    if (this.session !== undefined) return this.session;
    this.session = await this.client.sessionCreate(
      {
        Name: this.options.sessionName,
        NodeChecks: this.options.nodeChecks,
        ServiceChecks: this.options.serviceChecks.map((ID) => ({ ID })),
        LockDelay: goMs(this.options.lockDelayMs),
        Behavior: 'release',
      },
      { signal },
    );
    return this.session;
  }

  private startLease(session: string, confirmedAt: number): LockLease {
    const lease = new LockLease(this.key, async () => {
      stopWatch.abort();
      try {
        await this.client.kvRelease(this.key, session);
      } catch (error) {
        // The session's invalidation (a check, the drain's deregistration) frees it in the end.
        this.logger.warn(
          { key: this.key, error: (error as Error).message },
          `express-consul: could not release lock '${this.key}'`,
        );
      }
    });
    this.lease = lease;
    const stopWatch = new AbortController();
    void this.holdWatch(lease, session, confirmedAt, stopWatch.signal);
    return lease;
  }

  /**
   * Confirms the lock with blocking queries until it is lost. The lease is trusted until
   * `confirmedAt + lockDelay - margin`, where `confirmedAt` is when the last query that saw our
   * session was sent: had Consul invalidated the session after that, nobody could take the lock
   * before the lock delay ran out from then. Queries block for a third of that trust, so a
   * reachable Consul renews it well before it ends.
   */
  private async holdWatch(
    lease: LockLease,
    session: string,
    firstConfirmedAt: number,
    stop: AbortSignal,
  ): Promise<void> {
    const { lockDelayMs } = this.options;
    const marginMs = Math.min(1_000, Math.max(50, lockDelayMs / 5));
    const trustMs = Math.max(0, lockDelayMs - marginMs);
    // The next confirmation comes up to two waits (plus Consul's wait/16 jitter) after the send
    // time it renews from: a third of the trust keeps that inside it, with room for a slow loop.
    const waitMs = Math.max(50, Math.floor(trustMs / 3));
    const watch = AbortSignal.any([stop, lease.signal]);
    let trustTimer: NodeJS.Timeout | undefined;
    const trustUntil = (confirmedAt: number): void => {
      clearTimeout(trustTimer);
      trustTimer = setTimeout(
        () => lease.lose('consul-unreachable', `not confirmed by Consul for ${trustMs} ms`),
        Math.max(0, confirmedAt + trustMs - Date.now()),
      );
      trustTimer.unref();
    };
    trustUntil(firstConfirmedAt);
    const backoff = new Backoff({ baseMs: 50, maxMs: Math.max(100, marginMs) }, this.random);
    let index = 0;
    try {
      while (!watch.aborted) {
        const sentAt = Date.now();
        try {
          const { data, meta } = await this.client.kvGet(
            this.key,
            index > 0 ? { index, waitMs } : {},
            { signal: watch },
          );
          if (watch.aborted) break;
          const holder = data[0]?.Session;
          if (holder !== session) {
            lease.lose(
              'session-invalidated',
              holder === undefined
                ? 'Consul released it (session invalidated)'
                : 'another session holds it',
            );
            if (holder === undefined) {
              // Invalidated, or only the key deleted by someone: then the session is still valid
              // and bound to our check. Destroy it (a no-op if invalidated) rather than leave one
              // more behind each time; the next acquire() creates a new one.
              this.session = undefined;
              this.client.sessionDestroy(session).catch((error: unknown) => {
                this.logger.warn(
                  { key: this.key, error: (error as Error).message },
                  `express-consul: could not destroy the released session of lock '${this.key}'`,
                );
              });
            }
            break;
          }
          trustUntil(sentAt);
          backoff.reset();
          const next = meta.index ?? 1;
          index = next < index ? 0 : next;
        } catch (error) {
          if (watch.aborted) break;
          index = 0;
          if (!(error instanceof ConsulUnavailableError)) {
            this.logger.warn(
              { key: this.key, error: (error as Error).message },
              `express-consul: lock '${this.key}' check failed`,
            );
          }
          await delay(backoff.nextDelayMs(), watch).catch(() => undefined);
        }
      }
    } finally {
      clearTimeout(trustTimer);
    }
  }
}

function isInvalidSession(error: unknown): boolean {
  return error instanceof Error && /invalid session|Session id .* not found/i.test(error.message);
}

import { Pool } from 'undici';
import type { ServiceInstance } from '../discovery/service-instance';
import { instanceAuthority } from '../discovery/service-instance';

/** Settings of every per-instance pool. */
export interface InstancePoolSettings {
  readonly connections: number;
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/**
 * One keep-alive undici pool per instance address, created on first use and closed gracefully (in-
 * flight requests finish) when the instance leaves the healthy set.
 */
export class InstancePools {
  private readonly pools = new Map<string, Pool>();
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly settings: InstancePoolSettings) {}

  /** The pool for `instance`, created if needed. */
  poolFor(instance: ServiceInstance): Pool {
    const authority = instanceAuthority(instance);
    let pool = this.pools.get(authority);
    if (!pool) {
      pool = new Pool(`http://${authority}`, {
        connections: this.settings.connections,
        keepAliveTimeout: this.settings.keepAliveTimeoutMs,
        keepAliveMaxTimeout: this.settings.keepAliveTimeoutMs,
        connect: { timeout: this.settings.connectTimeoutMs },
        // Our own per-try timer governs; body reads are the caller's business.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(authority, pool);
    }
    return pool;
  }

  /** Closes the pools of addresses no longer in `instances`. */
  retain(instances: readonly ServiceInstance[]): void {
    if (this.pools.size === 0) return;
    const keep = new Set(instances.map(instanceAuthority));
    for (const [authority, pool] of this.pools) {
      if (!keep.has(authority)) {
        this.pools.delete(authority);
        this.track(pool.close());
      }
    }
  }

  /** Number of open pools. */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool; in-flight requests finish first. */
  async close(): Promise<void> {
    for (const pool of this.pools.values()) this.track(pool.close());
    this.pools.clear();
    await Promise.all(this.closing);
  }

  private track(closing: Promise<void>): void {
    const settled = closing.catch(() => undefined);
    this.closing.add(settled);
    void settled.then(() => this.closing.delete(settled));
  }
}

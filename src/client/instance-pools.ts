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
 * flight requests finish) when the instance leaves the healthy set; `destroy()` cuts them all.
 */
export class InstancePools {
  private readonly pools = new Map<string, Pool>();
  /** Pools closing gracefully: kept so that a drain deadline can still destroy them. */
  private readonly closing = new Map<Pool, Promise<void>>();

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
        this.retire(pool);
      }
    }
  }

  /** Number of open pools. */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool; in-flight requests finish first. */
  async close(): Promise<void> {
    for (const pool of this.pools.values()) this.retire(pool);
    this.pools.clear();
    await Promise.all(this.closing.values());
  }

  /** Destroys every pool, closing ones included: in-flight requests fail, sockets are cut. */
  async destroy(): Promise<void> {
    const pools = [...this.pools.values(), ...this.closing.keys()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
    await Promise.all(this.closing.values());
  }

  private retire(pool: Pool): void {
    const settled = pool.close().catch(() => undefined);
    this.closing.set(pool, settled);
    void settled.then(() => this.closing.delete(pool));
  }
}

import { Pool } from 'undici';
import type { ServiceInstance } from '../watch/service-instance';
import { instanceAuthority } from '../watch/service-instance';
import type { UpstreamTlsOptions } from './service-client-options';

/** Settings of every per-instance pool. */
export interface InstancePoolSettings {
  readonly connections: number;
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Longest silence in the middle of a response body, in ms (undici's bodyTimeout). */
  readonly bodyTimeoutMs: number;
  /** Scheme for every instance, or undefined to read each instance's `scheme` meta. */
  readonly scheme: 'http' | 'https' | undefined;
  /** TLS settings for https instances. */
  readonly tls: UpstreamTlsOptions | undefined;
}

/** Our TLS names (one spelling across the options) in the words of Node's `tls.connect()`. */
function undiciTls(tls: UpstreamTlsOptions): Record<string, unknown> {
  const { serverName, verify, ...pem } = tls;
  return {
    ...pem,
    ...(serverName !== undefined && { servername: serverName }),
    ...(verify !== undefined && { rejectUnauthorized: verify }),
  };
}

/** An open pool and the origin it dials, so a re-registration at a new address gets a new one. */
interface Entry {
  readonly origin: string;
  readonly pool: Pool;
}

/**
 * One keep-alive undici pool per instance identity, created on first use, closed gracefully
 * (in-flight requests finish) when the instance leaves or moves, and all cut by `destroy()`.
 */
export class InstancePools {
  private readonly pools = new Map<string, Entry>();
  /** Pools closing gracefully: kept so that a drain deadline can still destroy them. */
  private readonly closing = new Map<Pool, Promise<void>>();
  /**
   * Settles when destroy() has cut everything. undici's `pool.close()` never settles when
   * `destroy()` empties a pool whose queue still held requests (calls waiting for a connection):
   * a graceful close waits on this too, so a drain's deadline cannot hang on it.
   */
  private readonly destroyed: Promise<void>;
  private markDestroyed!: () => void;

  constructor(private readonly settings: InstancePoolSettings) {
    this.destroyed = new Promise((resolve) => {
      this.markDestroyed = resolve;
    });
  }

  /** The pool for `instance`, created if needed. */
  poolFor(instance: ServiceInstance): Pool {
    const entry = this.pools.get(instance.id);
    const origin = this.originOf(instance);
    if (entry !== undefined && entry.origin === origin) return entry.pool;
    if (entry !== undefined) this.retire(entry.pool);
    const { connections, keepAliveTimeoutMs, connectTimeoutMs, bodyTimeoutMs, tls } = this.settings;
    const pool = new Pool(origin, {
      connections,
      keepAliveTimeout: keepAliveTimeoutMs,
      keepAliveMaxTimeout: keepAliveTimeoutMs,
      connect: {
        timeout: connectTimeoutMs,
        ...(origin.startsWith('https:') && tls !== undefined && undiciTls(tls)),
      },
      // Each attempt sets its own headers timeout. An instance silent mid-body would otherwise
      // hold its connection forever (and with it, at saturation, every call queued behind it).
      bodyTimeout: bodyTimeoutMs,
    });
    this.pools.set(instance.id, { origin, pool });
    return pool;
  }

  /** Closes the pools of instances no longer in `instances`. */
  retain(instances: readonly ServiceInstance[]): void {
    if (this.pools.size === 0) return;
    const keep = new Set<string>();
    for (const instance of instances) keep.add(instance.id);
    for (const [id, entry] of this.pools) {
      if (!keep.has(id)) {
        this.pools.delete(id);
        this.retire(entry.pool);
      }
    }
  }

  /** Number of open pools. */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool; in-flight requests finish first. */
  async close(): Promise<void> {
    for (const entry of this.pools.values()) this.retire(entry.pool);
    this.pools.clear();
    await Promise.all(this.closing.values());
  }

  /** Destroys every pool, closing ones included: in-flight requests fail, sockets are cut. */
  async destroy(): Promise<void> {
    const pools = [...[...this.pools.values()].map((entry) => entry.pool), ...this.closing.keys()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
    this.markDestroyed();
    await Promise.all(this.closing.values());
  }

  private originOf(instance: ServiceInstance): string {
    // Consul data may only upgrade: meta `scheme=https` turns https on, nothing turns it off.
    const scheme = this.settings.scheme ?? (instance.meta.scheme === 'https' ? 'https' : 'http');
    return `${scheme}://${instanceAuthority(instance)}`;
  }

  private retire(pool: Pool): void {
    const settled = Promise.race([pool.close().catch(() => undefined), this.destroyed]);
    this.closing.set(pool, settled);
    void settled.then(() => this.closing.delete(pool));
  }
}

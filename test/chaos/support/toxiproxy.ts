// Toxiproxy (Shopify's fault-injecting TCP proxy) as a real part of the chaos suite: the server
// binary comes from scripts/toxiproxy.sh and is driven through its HTTP API with a few typed calls.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../../harness/free-port';
import { waitFor } from '../../../harness/wait-for';

/** The toxics of Toxiproxy v2.5.0 this suite uses, with their attributes. */
export type Toxic =
  /** Adds `latency` ms (± `jitter`) to data in the stream's direction. */
  | { readonly type: 'latency'; readonly attributes: { latency: number; jitter?: number } }
  /** Stops all data; closes the connection after `timeout` ms, or never when 0 (a blackhole). */
  | { readonly type: 'timeout'; readonly attributes: { timeout: number } }
  /** Closes with a TCP RST after `timeout` ms (0: at once). */
  | { readonly type: 'reset_peer'; readonly attributes: { timeout: number } }
  /** Closes the connection once `bytes` have passed. */
  | { readonly type: 'limit_data'; readonly attributes: { bytes: number } }
  /** Cuts data into small packets with delays between them. */
  | {
      readonly type: 'slicer';
      readonly attributes: { average_size: number; size_variation: number; delay: number };
    };

/** One proxy, as the API describes it. */
export interface Proxy {
  readonly name: string;
  /** `127.0.0.1:PORT` it listens on. */
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
}

let binary: string | undefined;

/** Path of toxiproxy-server, found or built by scripts/toxiproxy.sh (cached outside the clone). */
export function toxiproxyBinaryPath(): string {
  binary ??= execFileSync('bash', [resolve(__dirname, '../../../scripts/toxiproxy.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return binary;
}

/** A toxiproxy-server on a free loopback port, and its API. */
export class ToxiproxyServer {
  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:PORT` of the API. */
    readonly api: string,
    private readonly exited: Promise<unknown>,
  ) {}

  /** Starts the server and waits until its API answers. */
  static async start(): Promise<ToxiproxyServer> {
    const port = await freePort();
    const child = spawn(toxiproxyBinaryPath(), ['-host', '127.0.0.1', '-port', String(port)], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = once(child, 'exit');
    const server = new ToxiproxyServer(child, `http://127.0.0.1:${port}`, exited);
    try {
      await waitFor('the Toxiproxy API', async () => {
        const { statusCode, body } = await request(`${server.api}/version`);
        await body.dump();
        return statusCode === 200 ? true : undefined;
      });
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** A proxy from a free loopback port to `upstream` (`host:port`). */
  async createProxy(name: string, upstream: string): Promise<Proxy> {
    return this.call<Proxy>('POST', '/proxies', {
      name,
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
    });
  }

  /** Adds a toxic on the proxy; `stream` is the direction (downstream: towards the client). */
  async addToxic(
    proxy: string,
    name: string,
    toxic: Toxic,
    stream: 'upstream' | 'downstream' = 'downstream',
  ): Promise<void> {
    await this.call('POST', `/proxies/${proxy}/toxics`, {
      name,
      type: toxic.type,
      stream,
      toxicity: 1,
      attributes: toxic.attributes,
    });
  }

  async removeToxic(proxy: string, name: string): Promise<void> {
    await this.call('DELETE', `/proxies/${proxy}/toxics/${name}`);
  }

  /** Enables or disables a proxy: disabled, it refuses connections and cuts the open ones. */
  async setEnabled(proxy: string, enabled: boolean): Promise<void> {
    await this.call('POST', `/proxies/${proxy}`, { enabled });
  }

  /** Removes every toxic and enables every proxy. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); idempotent. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  private async call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    const response = await request(`${this.api}${path}`, {
      method,
      ...(body !== undefined && {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) {
      throw new Error(`Toxiproxy ${method} ${path}: ${response.statusCode} ${text}`);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

/** The port of a proxy's `listen` address. */
export function portOf(proxy: Proxy): number {
  return Number(proxy.listen.slice(proxy.listen.lastIndexOf(':') + 1));
}

import { Pool, request } from 'undici';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';

/** One way of calling the target service: `call` resolves true for a 200 with its body read. */
export interface BenchClient {
  readonly id: string;
  readonly label: string;
  call(): Promise<boolean>;
  close(): Promise<void>;
}

/** Same limit as the helper's default `connectionsPerInstance`, so pools are compared like for like. */
const CONNECTIONS_PER_INSTANCE = 32;

/** express-consul: discovery through a blocking-query watch, balancer, retries, metrics. */
export function helperClient(
  consulAddress: string,
  service: string,
  variant: { readonly trafficManagement?: boolean } = {},
): BenchClient & {
  ready(): Promise<void>;
} {
  const trafficManagement = variant.trafficManagement === true;
  const discovery: Discovery = createDiscovery({
    consul: { address: consulAddress },
    trafficManagement,
  });
  const client = discovery.service(service);
  return {
    id: trafficManagement ? 'express-consul-tm' : 'express-consul',
    label: trafficManagement
      ? 'express-consul `service().request()`, `trafficManagement: true`, no config entries'
      : 'express-consul `service().request()`',
    ready: () => client.ready(),
    async call() {
      const res = await client.request({ path: '/' });
      await res.body.text();
      return res.statusCode === 200;
    },
    close: () => discovery.close(),
  };
}

/** The baseline: one undici Pool per instance, picked round robin; no discovery at all. */
export function poolClient(urls: readonly string[]): BenchClient {
  const pools = urls.map((url) => new Pool(url, { connections: CONNECTIONS_PER_INSTANCE }));
  let next = 0;
  return {
    id: 'undici-pool',
    label: 'undici `Pool` per instance, round robin',
    async call() {
      const pool = pools[next++ % pools.length]!;
      const res = await pool.request({ method: 'GET', path: '/' });
      await res.body.text();
      return res.statusCode === 200;
    },
    close: async () => {
      await Promise.all(pools.map((pool) => pool.close()));
    },
  };
}

/** Node's global fetch (its bundled undici and global agent), round robin over the URLs. */
export function fetchClient(urls: readonly string[]): BenchClient {
  let next = 0;
  return {
    id: 'fetch',
    label: 'global `fetch`, round robin',
    async call() {
      const res = await fetch(urls[next++ % urls.length]!);
      await res.text();
      return res.status === 200;
    },
    close: () => Promise.resolve(),
  };
}

interface HealthEntry {
  Service: { Address: string; Port: number };
}

/** What a hand-rolled client often does: ask Consul on every request, pick at random. */
export function naiveClient(consulAddress: string, service: string): BenchClient {
  const lookup = `${consulAddress}/v1/health/service/${encodeURIComponent(service)}?passing`;
  return {
    id: 'naive',
    label: 'naive: Consul lookup per request, random pick, undici `request()`',
    async call() {
      const found = await request(lookup);
      const entries = (await found.body.json()) as HealthEntry[];
      const entry = entries[Math.floor(Math.random() * entries.length)];
      if (found.statusCode !== 200 || entry === undefined) return false;
      const res = await request(`http://${entry.Service.Address}:${entry.Service.Port}/`);
      await res.body.text();
      return res.statusCode === 200;
    },
    close: () => Promise.resolve(),
  };
}

/** An HAProxy sidecar on loopback (it finds the instances through Consul DNS): one undici Pool to it. */
export function sidecarClient(address: string): BenchClient {
  const pool = new Pool(address, { connections: CONNECTIONS_PER_INSTANCE });
  return {
    id: 'haproxy',
    label: 'HAProxy sidecar (Consul DNS SRV), undici `Pool` to it',
    async call() {
      const res = await pool.request({ method: 'GET', path: '/' });
      await res.body.text();
      return res.statusCode === 200;
    },
    close: () => pool.close(),
  };
}

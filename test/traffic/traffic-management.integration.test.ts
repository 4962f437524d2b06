// Consul traffic management in the request path, against the run's real dev agent: config entries
// written with PUT /v1/config, instances registered with TTL checks (so a test turns them critical
// in Consul while their servers keep answering), target servers on 127.0.0.1.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import {
  createDiscovery,
  NoHealthyInstancesError,
  RequestTimeoutError,
  RetriesExhaustedError,
} from '../../src';
import type { Discovery, TrafficStatus } from '../../src';
import type { SplitterNode } from '../../src/traffic/discovery-chain';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const consul = (): string => process.env.CONSUL_HTTP_ADDR!;

async function consulCall(method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`${consul()}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text;
}

const written: [string, string][] = [];
async function putEntry(entry: Record<string, unknown>): Promise<void> {
  expect((await consulCall('PUT', '/v1/config', entry)).trim()).toBe('true');
  const key: [string, string] = [entry.Kind as string, entry.Name as string];
  if (!written.some(([k, n]) => k === key[0] && n === key[1])) written.unshift(key);
}

/** A target server: answers with its id, counts hits per path; /flaky is 500, /slow takes 2 s. */
interface Backend {
  readonly id: string;
  readonly hits: Map<string, number>;
  readonly port: number;
  close(): Promise<void>;
}

async function backend(id: string): Promise<Backend> {
  const hits = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/flaky') {
      response.statusCode = 500;
      response.end(id);
      return;
    }
    if (path === '/slow') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        response.end(id);
      }, 2_000);
      timers.add(timer);
      return;
    }
    response.end(id);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    id,
    hits,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const registered: string[] = [];
async function register(service: string, id: string, port: number, version: string): Promise<void> {
  await consulCall('PUT', '/v1/agent/service/register', {
    Name: service,
    ID: id,
    Address: '127.0.0.1',
    Port: port,
    Meta: { version },
    Check: { CheckID: `check-${id}`, TTL: '600s', Status: 'passing' },
  });
  registered.push(id);
}

async function setCheck(id: string, state: 'pass' | 'fail'): Promise<void> {
  await consulCall('PUT', `/v1/agent/check/${state}/check-${id}`);
}

/** Runs `total` calls, `concurrency` at a time; returns the count per answering version. */
async function spread(
  total: number,
  concurrency: number,
  call: () => Promise<string>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        const version = await call();
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('traffic management wired into the request path (real Consul)', () => {
  const web = uniqueService('tm-web');
  const other = uniqueService('tm-other');
  const backends: Backend[] = [];
  let discovery: Discovery;
  const v1 = ['v1a', 'v1b'];
  const v2 = ['v2a'];

  const splitter = (w1: number, w2: number): Record<string, unknown> => ({
    Kind: 'service-splitter',
    Name: web,
    Splits: [
      { Weight: w1, ServiceSubset: 'v1' },
      { Weight: w2, ServiceSubset: 'v2' },
    ],
  });

  /** The v1 weight of the splitter the client routes by now. */
  function routedV1Weight(): number | undefined {
    const plan = discovery.service(web).trafficPlan;
    if (plan === undefined) return undefined;
    const node = [...plan.chain.nodes.values()].find(
      (n): n is SplitterNode => n.type === 'splitter',
    );
    return node?.splits.find((split) => split.serviceSubset === 'v1')?.weight;
  }

  async function call(path = '/hello', headers: Record<string, string> = {}): Promise<string> {
    const response = await discovery.service(web).request({ path, headers });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    return response.instance.meta.version === undefined
      ? response.instance.service
      : `${response.instance.service === web ? '' : 'other:'}${response.instance.meta.version}`;
  }

  beforeAll(async () => {
    for (const [id, version] of [...v1.map((id) => [id, '1']), ...v2.map((id) => [id, '2'])] as [
      string,
      string,
    ][]) {
      const b = await backend(id);
      backends.push(b);
      await register(web, `${web}-${id}`, b.port, version);
    }
    const o = await backend('other');
    backends.push(o);
    await register(other, `${other}-1`, o.port, 'o');
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await putEntry({ Kind: 'service-defaults', Name: other, Protocol: 'http' });
    await putEntry({
      Kind: 'service-resolver',
      Name: web,
      DefaultSubset: 'v1',
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: 'Service.Meta.version == "2"', OnlyPassing: true },
      },
      Failover: { v1: { Targets: [{ Service: other }] } },
    });
    await putEntry(splitter(90, 10));
    await putEntry({
      Kind: 'service-router',
      Name: web,
      Routes: [
        {
          Match: { HTTP: { Header: [{ Name: 'x-canary', Exact: '1' }] } },
          Destination: { ServiceSubset: 'v2' },
        },
        { Match: { HTTP: { PathPrefix: '/to-other' } }, Destination: { Service: other } },
        {
          Match: { HTTP: { PathExact: '/flaky' } },
          Destination: { ServiceSubset: 'v1', NumRetries: 3, RetryOnStatusCodes: [500] },
        },
        {
          Match: { HTTP: { PathExact: '/slow' } },
          Destination: { ServiceSubset: 'v1', RequestTimeout: '300ms' },
        },
      ],
    });
    discovery = createDiscovery({
      metrics: { registry: new Registry() },
      trafficManagement: true,
      // One attempt by default, no backoff: what the route's retries add is then plain to see.
      client: { maxAttempts: 1, retryBackoff: { baseMs: 0 }, deadlineMs: 10_000 },
      retryBudget: { ratio: 1, minRetriesPerSecond: 1_000 },
    });
    await waitFor('the chain routes by a 90/10 split', () =>
      routedV1Weight() === 90 ? true : undefined,
    );
    await waitFor('every target has its instances', () => {
      const plan = discovery.service(web).trafficPlan!;
      const sizes = [...plan.chain.targets.keys()].map((id) => plan.table(id)?.instances().length);
      return sizes.every((n) => n !== undefined && n > 0) ? true : undefined;
    });
  });

  afterAll(async () => {
    await discovery?.close();
    for (const [kind, name] of written) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
    for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
    await Promise.all(backends.map((b) => b.close()));
  });

  it('a 90/10 split over 10,000 calls lands within 2 points; live changes govern within 1 s', async () => {
    const counts = await spread(10_000, 16, () => call());
    const share = (counts.get('1') ?? 0) / 100;
    process.stdout.write(`90/10 split over 10,000 calls: v1 ${share}% v2 ${100 - share}%\n`);
    expect([...counts.keys()].sort()).toEqual(['1', '2']);
    expect(Math.abs(share - 90)).toBeLessThanOrEqual(2);

    const latencies: number[] = [];
    for (let change = 0; change < 20; change++) {
      const w1 = change % 2 === 0 ? 50 : 90;
      const written = performance.now();
      await putEntry(splitter(w1, 100 - w1));
      await waitFor(
        `the ${w1}/${100 - w1} split`,
        () => (routedV1Weight() === w1 ? true : undefined),
        {
          timeoutMs: 5_000,
          intervalMs: 2,
        },
      );
      latencies.push(performance.now() - written);
    }
    const p99 = percentile(latencies, 99);
    process.stdout.write(
      `split change to routing, 20 changes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms\n`,
    );
    expect(p99).toBeLessThan(1_000);

    await putEntry(splitter(50, 50));
    await waitFor('50/50', () => (routedV1Weight() === 50 ? true : undefined), { intervalMs: 2 });
    const after = await spread(4_000, 16, () => call());
    const half = (after.get('1') ?? 0) / 40;
    process.stdout.write(`50/50 split over 4,000 calls: v1 ${half}%\n`);
    expect(Math.abs(half - 50)).toBeLessThanOrEqual(3);
    await putEntry(splitter(90, 10));
    await waitFor('90/10 again', () => (routedV1Weight() === 90 ? true : undefined));
  });

  it('a header route sends every canary call to v2, a path-prefix route to another service', async () => {
    const canary = await spread(500, 8, () => call('/hello', { 'x-canary': '1' }));
    expect(canary).toEqual(new Map([['2', 500]]));
    const plain = await spread(2_000, 8, () => call('/hello', { 'x-canary': '0' }));
    const v1Share = (plain.get('1') ?? 0) / 20;
    expect(Math.abs(v1Share - 90)).toBeLessThanOrEqual(3);
    const routed = await spread(200, 8, () => call('/to-other/x'));
    expect(routed).toEqual(new Map([['other:o', 200]]));
    const otherHits = backends.find((b) => b.id === 'other')!.hits.get('/to-other/x');
    expect(otherHits).toBe(200);
  });

  it('never routes to a service allowedServices leaves out (hostile review: a router could send calls anywhere)', async () => {
    const fenced = createDiscovery({
      metrics: { registry: new Registry() },
      trafficManagement: true,
      allowedServices: [web],
      client: { maxAttempts: 1 },
    });
    try {
      await waitFor('the fenced client follows the chain', () =>
        fenced.service(web).trafficPlan !== undefined ? true : undefined,
      );
      const before = backends.find((b) => b.id === 'other')!.hits.get('/to-other/fenced') ?? 0;
      const refused = await fenced
        .service(web)
        .request({ path: '/to-other/fenced' })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(NoHealthyInstancesError);
      expect(backends.find((b) => b.id === 'other')!.hits.get('/to-other/fenced') ?? 0).toBe(
        before,
      );
      // The allowed service's own targets still serve.
      const ok = await fenced.service(web).request({ path: '/hello' });
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
      expect(ok.instance.service).toBe(web);
    } finally {
      await fenced.close();
    }
  });

  it("honours a route's NumRetries (with RetryOnStatusCodes) and RequestTimeout", async () => {
    const flakyBefore = v1
      .map((id) => backends.find((b) => b.id === id)!.hits.get('/flaky') ?? 0)
      .reduce((a, b) => a + b, 0);
    const failed = await discovery
      .service(web)
      .request({ path: '/flaky' })
      .catch((e: unknown) => e);
    const flakyAfter = v1
      .map((id) => backends.find((b) => b.id === id)!.hits.get('/flaky') ?? 0)
      .reduce((a, b) => a + b, 0);
    process.stdout.write(`route NumRetries 3: ${flakyAfter - flakyBefore} attempts on /flaky\n`);
    // The client alone makes one attempt (maxAttempts: 1) and never retries a 500; the route
    // makes 500 retryable and allows 1 + 3 attempts.
    expect(failed).toBeInstanceOf(RetriesExhaustedError);
    expect((failed as RetriesExhaustedError).attempts).toBe(4);
    expect(flakyAfter - flakyBefore).toBe(4);

    const started = performance.now();
    const error = await discovery
      .service(web)
      .request({ path: '/slow' })
      .catch((e: unknown) => e);
    const elapsedMs = performance.now() - started;
    process.stdout.write(`route RequestTimeout 300ms: failed after ${elapsedMs.toFixed(0)} ms\n`);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    // The client's own deadline is 10 s and the server answers after 2 s: only the route's 300 ms
    // can end the call this early.
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(1_500);
  });

  it('fails over when every v1 instance is critical, with no failed call, and comes back', async () => {
    let failures = 0;
    const seen: string[] = [];
    let running = true;
    const load = (async () => {
      // Bounded in count and in time: at most 20,000 calls, stopped by the test.
      for (let i = 0; i < 20_000 && running; i++) {
        try {
          seen.push(await call('/hello', { 'x-canary': '0' }));
        } catch {
          failures += 1;
        }
      }
    })();
    const v1Ids = v1.map((id) => `${web}-${id}`);
    await waitFor('calls under way', () => (seen.length > 50 ? true : undefined));
    for (const id of v1Ids) await setCheck(id, 'fail');
    const target = (): string => seen.slice(-20).join(',');
    // The v1 target (the splitter's 90 %) now fails over to the other service.
    await waitFor('v1 calls failed over to the other service', () =>
      seen.slice(-50).filter((v) => v === 'other:o').length > 30 ? true : undefined,
    );
    expect(seen.slice(-50)).not.toContain('1');
    const view = discovery.service(web).status().traffic!;
    const v1Target = view.targets.find((t) => t.id.startsWith('v1.'))!;
    expect(v1Target).toMatchObject({ instances: 0, failingOverTo: expect.stringContaining(other) });
    expect(view.routes.map((route) => route.match)).toEqual([
      'header x-canary exact 1',
      'path prefix /to-other',
      'path /flaky',
      'path /slow',
      'path prefix /',
    ]);
    for (const id of v1Ids) await setCheck(id, 'pass');
    await waitFor(`back on v1 (last: ${target()})`, () =>
      seen.slice(-50).filter((v) => v === '1').length > 30 ? true : undefined,
    );
    running = false;
    await load;
    process.stdout.write(`failover and back: ${seen.length} calls, ${failures} failed\n`);
    expect(failures).toBe(0);
    expect(seen.slice(-20)).not.toContain('other:o');
  });

  it('keeps the last good chain when a subset filter cannot be parsed', async () => {
    const before = discovery.service(web).trafficPlan;
    // Consul (Go's regexp) accepts it; our linear-time engine refuses a program this large.
    const deep = 'Service.Meta.version matches "x{1000}y{1000}z{1000}w{1000}v{1000}u{1000}"';
    await putEntry({
      Kind: 'service-resolver',
      Name: web,
      DefaultSubset: 'v1',
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: deep, OnlyPassing: true },
      },
      Failover: { v1: { Targets: [{ Service: other }] } },
    });
    // Consul compiled the new chain (its answer carries the deep filter) ...
    await waitFor('Consul serves the new chain', async () => {
      const chain = JSON.parse(await consulCall('GET', `/v1/discovery-chain/${web}`)) as {
        Chain: { Targets: Record<string, { Subset: { Filter: string } }> };
      };
      return Object.values(chain.Chain.Targets).some((t) => t.Subset.Filter === deep)
        ? true
        : undefined;
    });
    // ... and a write after it proves our watch has read past it: the splitter change shows up
    // only in a chain answer newer than the refused one, which is refused too (same filter).
    await putEntry(splitter(50, 50));
    const traffic = (): TrafficStatus | undefined => discovery.service(web).status().traffic;
    await waitFor('the chain refused', () => (traffic()?.refused === true ? true : undefined));
    expect(traffic()?.lastRefusal).toMatch(/Filter/);
    expect(traffic()?.splits.map((split) => split.weight)).toEqual([90, 10]);
    expect(discovery.service(web).trafficPlan).toBe(before);
    expect(routedV1Weight()).toBe(90);
    const counts = await spread(1_000, 8, () => call());
    expect(Math.abs((counts.get('1') ?? 0) / 10 - 90)).toBeLessThanOrEqual(4);
  });
});

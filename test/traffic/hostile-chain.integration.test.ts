// Hostile-review findings of issue #15 that need the whole client against the run's real dev agent:
// the first call while the config-entry lists are silent, a retry after a chain change, and a
// chain that keeps a target id while changing its service. A loopback proxy stands between the
// client and Consul where a test needs Consul to be slow (it holds requests) or a chain that
// Consul would never compile (the untrusted input under test); everything else is Consul's own.
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createDiscovery, NoHealthyInstancesError, UpstreamError } from '../../src';
import type { Discovery, TrafficStatus } from '../../src';
import type { ResolverNode } from '../../src/traffic/discovery-chain';
import { freePort } from '../../harness/free-port';
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

/** A server answering with its id (500 on paths ending in /fail); `onRequest` may answer instead (returns true). */
interface Backend {
  readonly id: string;
  hits: number;
  readonly paths: Map<string, number>;
  onRequest?: (response: ServerResponse) => Promise<boolean>;
  readonly port: number;
  close(): Promise<void>;
}

const backends: Backend[] = [];
async function backend(id: string): Promise<Backend> {
  const server: Server = createServer((request, response) => {
    self.hits += 1;
    const path = request.url ?? '/';
    self.paths.set(path, (self.paths.get(path) ?? 0) + 1);
    void (async () => {
      if (self.onRequest !== undefined && (await self.onRequest(response))) return;
      if (path.endsWith('/fail')) response.statusCode = 500;
      response.end(id);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const self: Backend = {
    id,
    hits: 0,
    paths: new Map(),
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  backends.push(self);
  return self;
}

const registered: string[] = [];
async function register(
  service: string,
  b: Pick<Backend, 'id' | 'port'>,
  version: string,
): Promise<void> {
  const id = `${service}-${b.id}`;
  await consulCall('PUT', '/v1/agent/service/register', {
    Name: service,
    ID: id,
    Address: '127.0.0.1',
    Port: b.port,
    Meta: { version },
  });
  registered.push(id);
}

/** A served chain: Consul's blocking semantics (a read at `index` waits for the next version). */
interface FakeChain {
  index: number;
  body: unknown;
  readonly waiters: (() => void)[];
}

/** A loopback proxy to the agent that can hold the config-entry lists and serve made-up chains. */
interface ChainProxy {
  readonly address: string;
  holdConfigLists: boolean;
  /** When set, the config-entry lists answer this status (403 with Consul's ACL message). */
  configListStatus: number | undefined;
  releaseConfigLists(): void;
  serveChain(service: string, body: unknown): void;
  close(): Promise<void>;
}

async function startChainProxy(): Promise<ChainProxy> {
  const upstream = new URL(consul());
  // Its own agent, destroyed on close: Node's global one keeps the sockets to the shared dev
  // agent open after this file, where the next suite counts them as its own.
  const agent = new HttpAgent({ keepAlive: true });
  let held: (() => void)[] = [];
  const chains = new Map<string, FakeChain>();
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const chainName = /^\/v1\/discovery-chain\/([^/]+)$/.exec(url.pathname)?.[1];
    const chain = chainName === undefined ? undefined : chains.get(decodeURIComponent(chainName));
    if (chain !== undefined) {
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': chain.index });
        res.end(JSON.stringify(chain.body));
      };
      if (Number(url.searchParams.get('index') ?? 0) < chain.index) answer();
      else chain.waiters.push(answer);
      return;
    }
    if (proxy.configListStatus !== undefined && url.pathname.startsWith('/v1/config/')) {
      res.writeHead(proxy.configListStatus, { 'content-type': 'text/plain' });
      res.end(
        proxy.configListStatus === 403
          ? "Permission denied: token with AccessorID 'x' lacks permission 'service:read' on \"web\""
          : 'rpc error: the server broke',
      );
      return;
    }
    if (proxy.holdConfigLists && url.pathname.startsWith('/v1/config/')) {
      held.push(() => forward(req, res));
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: ChainProxy = {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdConfigLists: false,
    configListStatus: undefined,
    releaseConfigLists: () => {
      proxy.holdConfigLists = false;
      const waiting = held;
      held = [];
      for (const go of waiting) go();
    },
    serveChain: (service, body) => {
      const chain = chains.get(service) ?? { index: 0, body, waiters: [] };
      chain.index += 1;
      chain.body = body;
      chains.set(service, chain);
      for (const answer of chain.waiters.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

const discoveries: Discovery[] = [];
const proxies: ChainProxy[] = [];

afterAll(async () => {
  await Promise.all(discoveries.map((d) => d.close()));
  await Promise.all(proxies.map((p) => p.close()));
  for (const [kind, name] of written) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
  for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
  await Promise.all(backends.map((b) => b.close()));
});

/** web with subsets v1 / v2 by Meta.version, and its default subset. */
async function subsetsOf(web: string, defaultSubset: 'v1' | 'v2'): Promise<void> {
  await putEntry({
    Kind: 'service-resolver',
    Name: web,
    DefaultSubset: defaultSubset,
    Subsets: {
      v1: { Filter: 'Service.Meta.version == "1"' },
      v2: { Filter: 'Service.Meta.version == "2"' },
    },
  });
}

function discoveryWith(address: string, client: Record<string, unknown> = {}): Discovery {
  const discovery = createDiscovery({
    consul: { address },
    metrics: { registry: new Registry() },
    trafficManagement: true,
    client: { maxAttempts: 1, retryBackoff: { baseMs: 0 }, ...client },
  });
  discoveries.push(discovery);
  return discovery;
}

function defaultSubsetRouted(discovery: Discovery, web: string): string | undefined {
  const plan = discovery.service(web).trafficPlan;
  const start = plan?.chain.nodes.get(plan.chain.startNode) as ResolverNode | undefined;
  return start?.type === 'resolver'
    ? plan!.chain.targets.get(start.target)?.serviceSubset
    : undefined;
}

describe('hostile review of traffic management (real Consul)', () => {
  it('the first call fails fast with a typed error while the config-entry lists are silent, never by the plain table', async () => {
    const web = uniqueService('hc-first');
    const v1 = await backend('first-v1');
    const v2 = await backend('first-v2');
    await register(web, v1, '1');
    await register(web, v2, '2');
    await subsetsOf(web, 'v2');
    const proxy = await startChainProxy();
    proxies.push(proxy);
    proxy.holdConfigLists = true;
    const discovery = discoveryWith(proxy.address, { readyTimeoutMs: 500 });

    const startedAt = performance.now();
    const error = await discovery
      .service(web)
      .request({ path: '/' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const tookMs = performance.now() - startedAt;
    expect(error).toBeInstanceOf(NoHealthyInstancesError);
    expect(error).toMatchObject({
      code: 'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES',
      reason: 'discovery_timeout',
    });
    expect((error as Error).message).toMatch(/config-entry lists had no answer/);
    expect(tookMs).toBeLessThan(2_000);
    expect(v1.hits + v2.hits).toBe(0);

    proxy.releaseConfigLists();
    const response = await discovery.service(web).request({ path: '/' });
    await response.body.dump();
    expect(response.instance.meta.version).toBe('2');
    process.stdout.write(
      `first call with silent config-entry lists: failed after ${tookMs.toFixed(0)} ms\n`,
    );
  });

  it('lists failing with a 500 do not count as "no entries": the first call fails fast; an ACL refusal does count', async () => {
    const web = uniqueService('hc-lists-500');
    const v1 = await backend('lists-v1');
    const v2 = await backend('lists-v2');
    await register(web, v1, '1');
    await register(web, v2, '2');
    await subsetsOf(web, 'v2');
    const proxy = await startChainProxy();
    proxies.push(proxy);
    proxy.configListStatus = 500;
    const failing = discoveryWith(proxy.address, { readyTimeoutMs: 500 });
    const error = await failing
      .service(web)
      .request({ path: '/' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(NoHealthyInstancesError);
    expect(error).toMatchObject({ reason: 'discovery_timeout' });
    expect(v1.hits + v2.hits).toBe(0);

    // Consul's own answer that this token may not read the entries: the plain table is all we may use.
    proxy.configListStatus = 403;
    const denied = discoveryWith(proxy.address, { readyTimeoutMs: 500 });
    const response = await denied.service(web).request({ path: '/' });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
    expect(denied.service(web).trafficPlan).toBeUndefined();
  });

  it('a retry after a chain change goes by the current chain, not the one the call started with', async () => {
    const web = uniqueService('hc-retry');
    const v1a = await backend('retry-v1a');
    const v1b = await backend('retry-v1b');
    const v2 = await backend('retry-v2');
    await register(web, v1a, '1');
    await register(web, v1b, '1');
    await register(web, v2, '2');
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await subsetsOf(web, 'v1');
    const discovery = discoveryWith(consul(), { maxAttempts: 2 });
    await waitFor('the chain routes to v1', () =>
      defaultSubsetRouted(discovery, web) === 'v1' ? true : undefined,
    );
    await waitFor('every target has its instances', () => {
      const plan = discovery.service(web).trafficPlan!;
      const sizes = [...plan.chain.targets.keys()].map((id) => plan.table(id)?.instances().length);
      return sizes.every((n) => n !== undefined && n > 0) ? true : undefined;
    });
    // The first v1 instance hit moves the default subset to v2 in Consul, waits until the client
    // routes by the new chain, then answers 503: the retry is made under the new chain.
    let changed = false;
    const changeThenFail = async (response: ServerResponse): Promise<boolean> => {
      if (changed) return false;
      changed = true;
      await subsetsOf(web, 'v2');
      await waitFor('the client routes by the new chain', () =>
        defaultSubsetRouted(discovery, web) === 'v2' ? true : undefined,
      );
      response.statusCode = 503;
      response.end('moved');
      return true;
    };
    v1a.onRequest = changeThenFail;
    v1b.onRequest = changeThenFail;

    const response = await discovery.service(web).request({ path: '/' });
    await response.body.dump();
    expect(changed).toBe(true);
    expect(response.attempts).toBe(2);
    expect(response.instance.meta.version).toBe('2');
    expect(v2.hits).toBe(1);
  });

  it('a flapping writer: applied chains per second stay within the watch rate limit, and the last write governs', async () => {
    const web = uniqueService('hc-flap');
    const v1 = await backend('flap-v1');
    const v2 = await backend('flap-v2');
    await register(web, v1, '1');
    await register(web, v2, '2');
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await subsetsOf(web, 'v1');
    const splitter = (w1: number): Record<string, unknown> => ({
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        { Weight: w1, ServiceSubset: 'v1' },
        { Weight: 100 - w1, ServiceSubset: 'v2' },
      ],
    });
    await putEntry(splitter(90));
    const discovery = discoveryWith(consul());
    const client = discovery.service(web);
    const v1Weight = (): number | undefined => {
      const plan = client.trafficPlan;
      const node = plan?.chain.nodes.get(plan.chain.startNode);
      return node?.type === 'splitter'
        ? node.splits.find((split) => split.serviceSubset === 'v1')?.weight
        : undefined;
    };
    await waitFor('the chain routes by the 90/10 split', () =>
      v1Weight() === 90 ? true : undefined,
    );
    // Counts every plan the chain watch hands the client (instrumentation, not a stand-in).
    let applied = 0;
    const setTrafficPlan = client.setTrafficPlan.bind(client);
    client.setTrafficPlan = (...args) => {
      applied += 1;
      setTrafficPlan(...args);
    };
    const intervalMs = 50; // discovery.watch.minUpdateIntervalMs, the default
    const startedAt = performance.now();
    let writes = 0;
    // Back-to-back writes for 1 s at most (400 at most), each one a change.
    while (writes < 400 && performance.now() - startedAt < 1_000) {
      await putEntry(splitter(writes % 2 === 0 ? 50 : 90));
      writes += 1;
    }
    await putEntry(splitter(70));
    const elapsedMs = performance.now() - startedAt;
    const during = applied;
    await waitFor('the last write governs', () => (v1Weight() === 70 ? true : undefined));
    process.stdout.write(
      `flapping splitter: ${writes + 1} writes in ${elapsedMs.toFixed(0)} ms, ${during} chains applied ` +
        `(${((during * 1_000) / elapsedMs).toFixed(1)}/s), last write applied\n`,
    );
    expect(writes).toBeGreaterThan(2 * (4 + Math.ceil(elapsedMs / intervalMs) + 1));
    expect(during).toBeLessThanOrEqual(4 + Math.ceil(elapsedMs / intervalMs) + 1);
  });

  it('a chain keeping a target id while changing its service routes to the new service', async () => {
    const web = uniqueService('hc-key');
    const a = uniqueService('hc-key-a');
    const b = uniqueService('hc-key-b');
    const inA = await backend('key-a');
    const inB = await backend('key-b');
    await register(a, inA, 'a');
    await register(b, inB, 'b');
    // A resolver entry in Consul puts web on the config-entry lists; its chain is the proxy's.
    await putEntry({ Kind: 'service-resolver', Name: web, ConnectTimeout: '5s' });
    const proxy = await startChainProxy();
    proxies.push(proxy);
    const chainTo = (service: string): unknown => ({
      Chain: {
        ServiceName: web,
        Namespace: 'default',
        Partition: 'default',
        Datacenter: 'dc1',
        Protocol: 'http',
        StartNode: 'resolver:v1',
        Nodes: { 'resolver:v1': { Type: 'resolver', Name: 'v1', Resolver: { Target: 'v1' } } },
        Targets: {
          v1: { ID: 'v1', Service: service, ServiceSubset: 'v1', Datacenter: 'dc1' },
        },
      },
    });
    proxy.serveChain(web, chainTo(a));
    const discovery = discoveryWith(proxy.address);
    const version = async (): Promise<string | undefined> => {
      const response = await discovery.service(web).request({ path: '/' });
      await response.body.dump();
      return response.instance.meta.version;
    };
    expect(await version()).toBe('a');

    proxy.serveChain(web, chainTo(b));
    // Consul's chain changes only with an entry write, which a list answers: the chain is read anew.
    await putEntry({ Kind: 'service-resolver', Name: web, ConnectTimeout: '6s' });
    await waitFor('the new chain is in force', () =>
      discovery.service(web).trafficPlan?.chain.targets.get('v1')?.service === b ? true : undefined,
    );
    await waitFor('calls reach the new service', async () =>
      (await version()) === 'b' ? true : undefined,
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => version()));
    expect(answers.every((v) => v === 'b')).toBe(true);
  });

  it('a 26 MB chain answer is refused (the review ran V8 out of memory with one); the last good chain keeps routing', async () => {
    const web = uniqueService('hc-huge');
    const a = uniqueService('hc-huge-a');
    const inA = await backend('huge-a');
    await register(a, inA, 'a');
    await putEntry({ Kind: 'service-resolver', Name: web, ConnectTimeout: '5s' });
    const proxy = await startChainProxy();
    proxies.push(proxy);
    const chain = (meta: Record<string, string>): unknown => ({
      Chain: {
        ServiceName: web,
        Datacenter: 'dc1',
        Protocol: 'http',
        StartNode: 'resolver:t',
        ServiceMeta: meta,
        Nodes: { 'resolver:t': { Type: 'resolver', Name: 't', Resolver: { Target: 't' } } },
        Targets: { t: { ID: 't', Service: a, Datacenter: 'dc1' } },
      },
    });
    proxy.serveChain(web, chain({}));
    const discovery = discoveryWith(proxy.address);
    const call = async (): Promise<string | undefined> => {
      const response = await discovery.service(web).request({ path: '/' });
      await response.body.dump();
      return response.instance.meta.version;
    };
    expect(await call()).toBe('a');
    const before = discovery.service(web).trafficPlan;
    // Every string within maxStringLength; 6,500 of them make about 26 MB.
    const meta: Record<string, string> = {};
    for (let i = 0; i < 6_500; i++) meta[`k${i}`] = 'v'.repeat(4_000);
    proxy.serveChain(web, chain(meta));
    await putEntry({ Kind: 'service-resolver', Name: web, ConnectTimeout: '6s' });
    const traffic = (): TrafficStatus | undefined => discovery.service(web).status().traffic;
    await waitFor('the huge chain refused', () => (traffic()?.refused === true ? true : undefined));
    expect(traffic()?.lastRefusal).toMatch(
      /^Discovery chain answer: is 26\d{6} characters of JSON/,
    );
    expect(discovery.service(web).trafficPlan).toBe(before);
    expect(await call()).toBe('a');
    process.stdout.write(
      `26 MB chain refused; heap after: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB\n`,
    );
  });
});

describe('route retries as Consul 1.16.3 gives them to Envoy (real Consul)', () => {
  const web = uniqueService('hc-retries');
  let discovery: Discovery;
  let live: Backend;

  beforeAll(async () => {
    live = await backend('retries-live');
    await register(web, live, '1');
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await putEntry({
      Kind: 'service-router',
      Name: web,
      Routes: [
        // Consul drops both zero values (omitempty): the chain holds RetryOn alone.
        {
          Match: { HTTP: { PathPrefix: '/r5xx' } },
          Destination: { NumRetries: 0, RetryOnConnectFailure: false, RetryOn: ['5xx'] },
        },
        {
          Match: { HTTP: { PathPrefix: '/status-only' } },
          Destination: { NumRetries: 2, RetryOnStatusCodes: [500] },
        },
        {
          Match: { HTTP: { PathPrefix: '/connect' } },
          Destination: { NumRetries: 2, RetryOn: ['connect-failure'] },
        },
      ],
    });
    // No outlier detection: the refusing instance must stay in the rotation for every test.
    discovery = discoveryWith(consul(), {
      maxAttempts: 1,
      deadlineMs: 10_000,
      outlierDetection: false,
    });
    await waitFor('the chain has the three routes and the instance', () => {
      const plan = discovery.service(web).trafficPlan;
      const router = plan?.chain.nodes.get(plan.chain.startNode);
      const id = plan === undefined ? undefined : [...plan.chain.targets.keys()][0];
      return router?.type === 'router' &&
        router.routes.length === 4 &&
        id !== undefined &&
        plan!.table(id)!.instances().length === 1
        ? true
        : undefined;
    });
  });

  it('NumRetries: 0 and RetryOnConnectFailure: false never reach the chain (Consul omits zero values): read as unset', () => {
    const plan = discovery.service(web).trafficPlan!;
    const router = plan.chain.nodes.get(plan.chain.startNode);
    if (router?.type !== 'router') throw new Error('no router');
    expect(router.routes[0]!.destination).toMatchObject({
      numRetries: 0,
      retryOnConnectFailure: false,
      retryOn: ['5xx'],
    });
    // So the route is read as Consul's Envoy config reads it: a policy with Envoy's one retry.
    expect(router.routes[0]!.destination!.retryPolicy?.maxAttempts).toBe(2);
    expect(router.routes[1]!.destination!.retryPolicy?.maxAttempts).toBe(3);
  });

  it('RetryOn 5xx retries a 500 once (Envoy default) though the client makes 1 attempt', async () => {
    const before = live.paths.get('/r5xx/fail') ?? 0;
    const outcome = await discovery
      .service(web)
      .request({ path: '/r5xx/fail' })
      .then(
        async (response) => {
          await response.body.dump();
          return { attempts: response.attempts, status: response.statusCode };
        },
        (error: unknown) => ({ attempts: (error as { attempts?: number }).attempts, status: 0 }),
      );
    expect((live.paths.get('/r5xx/fail') ?? 0) - before).toBe(2);
    expect(outcome.attempts).toBe(2);
  });

  describe('with a second instance that refuses connections', () => {
    beforeAll(async () => {
      await register(web, { id: 'retries-dead', port: await freePort() }, '1');
      await waitFor('both instances are known', () => {
        const plan = discovery.service(web).trafficPlan!;
        const id = [...plan.chain.targets.keys()][0]!;
        return plan.table(id)!.instances().length === 2 ? true : undefined;
      });
    });

    /** Runs up to `count` calls of `path` one after another; returns the failures. */
    async function failures(path: string, count: number): Promise<unknown[]> {
      const failed: unknown[] = [];
      for (let i = 0; i < count; i++) {
        try {
          const response = await discovery.service(web).request({ path });
          await response.body.dump();
        } catch (error) {
          failed.push(error);
        }
      }
      return failed;
    }

    it('RetryOn connect-failure retries a refused connection on the live instance: 0 failed', async () => {
      expect(await failures('/connect', 40)).toEqual([]);
    });

    it('a status-only route (RetryOnConnectFailure not set) does not retry a refused connection', async () => {
      const failed = await failures('/status-only', 40);
      process.stdout.write(
        `status-only route: ${failed.length} of 40 calls failed on a refused connection\n`,
      );
      expect(failed.length).toBeGreaterThan(0);
      for (const error of failed) {
        expect(error).toBeInstanceOf(UpstreamError);
        expect((error as UpstreamError).instance).toMatch(new RegExp(`/${web}-retries-dead$`));
      }
    });
  });
});

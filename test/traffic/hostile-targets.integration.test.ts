// Hostile review of issue #15 (second pass): chains naming targets the library cannot honour as
// written. A loopback proxy serves the made-up chain (one Consul would never compile: the
// untrusted input under test); everything else, instances and health, is the run's real dev agent.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createServer as createHttpsServer } from 'node:https';
import { createDiscovery, NoHealthyInstancesError, UpstreamError } from '../../src';
import type { Balancer, Discovery, ServiceClientOptions, ServiceInstance } from '../../src';
import { readChainView } from '../../src/cli/chain-command';
import { ConsulClient } from '../../src/consul/consul-client';
import { selfSignedCert } from '../support/self-signed-cert';
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

const written: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
const registered: string[] = [];
const servers: Server[] = [];
const discoveries: Discovery[] = [];
const agents: HttpAgent[] = [];

/** A backend answering its id, registered under `service` with Meta.version `id`. */
async function instanceOf(service: string, id: string): Promise<{ hits: () => number }> {
  let hits = 0;
  const server = createServer((_request, response) => {
    hits += 1;
    response.end(id);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const serviceId = `${service}-${id}`;
  await consulCall('PUT', '/v1/agent/service/register', {
    Name: service,
    ID: serviceId,
    Address: '127.0.0.1',
    Port: (server.address() as AddressInfo).port,
    Meta: { version: id },
  });
  registered.push(serviceId);
  return { hits: () => hits };
}

/** Proxy to the agent that answers `/v1/discovery-chain/NAME` with `chains.get(NAME)`, once. */
async function chainProxy(chains: Map<string, unknown>): Promise<string> {
  const upstream = new URL(consul());
  // Its own agent, destroyed with the file's servers: Node's global one keeps the sockets to the
  // shared dev agent open after this file, where the next suite counts them as its own.
  const agent = new HttpAgent({ keepAlive: true });
  agents.push(agent);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const name = /^\/v1\/discovery-chain\/([^/]+)$/.exec(url.pathname)?.[1];
    const chain = name === undefined ? undefined : chains.get(decodeURIComponent(name));
    if (chain !== undefined) {
      // Index 1 always: a read at index 1 is held by the client's own wait bound, never answered
      // early, so the chain is read once and stays in force.
      if (Number(url.searchParams.get('index') ?? 0) >= 1) return; // held until the client gives up
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '1' });
      res.end(JSON.stringify(chain));
      return;
    }
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(async () => {
  await Promise.all(discoveries.map((d) => d.close()));
  for (const server of servers) server.closeAllConnections();
  for (const agent of agents) agent.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const name of written) await consulCall('DELETE', `/v1/config/service-resolver/${name}`);
  for (const cleanup of cleanups) await cleanup();
  for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
});

function discoveryWith(
  address: string,
  services?: Record<string, ServiceClientOptions>,
): Discovery {
  const discovery = createDiscovery({
    consul: { address },
    ...(services !== undefined && { services }),
    metrics: { registry: new Registry() },
    trafficManagement: true,
    client: { maxAttempts: 1, retryBackoff: { baseMs: 0 }, readyTimeoutMs: 3_000 },
  });
  discoveries.push(discovery);
  return discovery;
}

/** A one-resolver chain of `web` whose only target is `target` (id `t`). */
function chainOf(web: string, target: Record<string, unknown>): unknown {
  return {
    Chain: {
      ServiceName: web,
      Namespace: 'default',
      Partition: 'default',
      Datacenter: 'dc1',
      Protocol: 'http',
      StartNode: 'resolver:t',
      Nodes: { 'resolver:t': { Type: 'resolver', Name: 't', Resolver: { Target: 't' } } },
      Targets: {
        t: { ID: 't', Namespace: 'default', Partition: 'default', Datacenter: 'dc1', ...target },
      },
    },
  };
}

/** Puts `web` on the config-entry lists (a resolver in Consul); its chain is the proxy's. */
async function hasEntries(web: string): Promise<void> {
  await consulCall('PUT', '/v1/config', {
    Kind: 'service-resolver',
    Name: web,
    ConnectTimeout: '5s',
  });
  written.push(web);
}

describe('hostile review: chain targets the library cannot honour as written (real Consul)', () => {
  // A target in another namespace or partition (Enterprise) names a different service than the
  // same name in ours: watching the name here would send its calls to our namespace's instances.
  it.each([
    ['namespace', { Namespace: 'finance' }],
    ['partition', { Partition: 'tenant-b' }],
  ])(
    'a target in another %s is left out: calls fail typed, never reach our same-named service',
    async (_what, where) => {
      const web = uniqueService('ht-ns');
      const other = uniqueService('ht-ns-other');
      const ours = await instanceOf(other, 'ours');
      await hasEntries(web);
      const address = await chainProxy(
        new Map([[web, chainOf(web, { Service: other, ...where })]]),
      );
      const discovery = discoveryWith(address);
      await waitFor('the chain is in force', () =>
        discovery.service(web).trafficPlan?.chain.targets.has('t') === true ? true : undefined,
      );
      const failure = await discovery
        .service(web)
        .request({ path: '/' })
        .then(
          async (response) => {
            await response.body.dump();
            return undefined;
          },
          (error: unknown) => error,
        );
      expect(failure).toBeInstanceOf(NoHealthyInstancesError);
      // It says which target is not served, not that no route matches.
      expect((failure as Error).message).toMatch(/target 't', which this client does not serve/);
      expect(ours.hits()).toBe(0);
      // `express-consul chain` shows it as the library sees it: no instance, no landing.
      const consulClient = new ConsulClient({ address });
      try {
        const view = await readChainView(consulClient, web, new AbortController().signal);
        expect(view.targets.map((t) => [t.id, t.healthy, t.total])).toEqual([['t', 0, 0]]);
        expect(view.resolvers.map((r) => r.landsOn)).toEqual([null]);
      } finally {
        await consulClient.close();
      }
    },
  );

  // The app configured https for `other`; web's chain routing to it must not make those calls
  // plain http because web's own client (instance meta decides, none says https) built the pools.
  it('a chain routing to a service configured https calls it over https, never plain http', async () => {
    const web = uniqueService('ht-tls');
    const other = uniqueService('ht-tls-other');
    // A plain-http instance: a request reaching it in clear text is the downgrade.
    const plain = await instanceOf(other, 'plain');
    await hasEntries(web);
    const address = await chainProxy(new Map([[web, chainOf(web, { Service: other })]]));
    const discovery = discoveryWith(address, { [other]: { scheme: 'https' } });
    await waitFor('the chain is in force', () =>
      discovery.service(web).trafficPlan?.chain.targets.has('t') === true ? true : undefined,
    );
    const outcome = await discovery
      .service(web)
      .request({ path: '/' })
      .then(
        async (response) => {
          await response.body.dump();
          return 'answered over http';
        },
        (error: unknown) => error,
      );
    // The TLS handshake with a plain-http server fails: an UpstreamError, and no HTTP request seen.
    expect(outcome).toBeInstanceOf(UpstreamError);
    expect(plain.hits()).toBe(0);
  });

  it('a chain routing to a service with its own TLS settings reaches it with them (its CA)', async () => {
    const web = uniqueService('ht-tls2');
    const other = uniqueService('ht-tls2-other');
    const cert = selfSignedCert();
    const secure = createHttpsServer({ key: cert.key, cert: cert.cert }, (_request, response) =>
      response.end('secure'),
    );
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    servers.push(secure);
    cert.remove();
    const serviceId = `${other}-secure`;
    await consulCall('PUT', '/v1/agent/service/register', {
      Name: other,
      ID: serviceId,
      Address: '127.0.0.1',
      Port: (secure.address() as AddressInfo).port,
    });
    registered.push(serviceId);
    await hasEntries(web);
    const address = await chainProxy(new Map([[web, chainOf(web, { Service: other })]]));
    const discovery = discoveryWith(address, { [other]: { tls: { ca: cert.cert } } });
    await waitFor('the chain is in force', () =>
      discovery.service(web).trafficPlan?.chain.targets.has('t') === true ? true : undefined,
    );
    const response = await discovery.service(web).request({ path: '/' });
    expect(await response.body.text()).toBe('secure');
  });

  // Envoy sends a route to another service to that service's cluster: its load balancing and
  // outlier detection, not the route owner's. Here: the other service's own balancer (a factory
  // the app configured for it) picks every call routed there; web's never sees them.
  it("a chain routing to another service picks its instances with that service's own balancer and outlier settings", async () => {
    const web = uniqueService('ht-own');
    const other = uniqueService('ht-own-other');
    await instanceOf(other, 'a');
    await instanceOf(other, 'b');
    await hasEntries(web);
    const address = await chainProxy(new Map([[web, chainOf(web, { Service: other })]]));
    const picks: string[] = [];
    const otherBalancer = (): Balancer => {
      let list: readonly ServiceInstance[] = [];
      return {
        name: 'always-b',
        update: (instances) => void (list = instances),
        pick: () => {
          // Always the instance with version b: what a round robin over a and b would not do.
          const chosen = list.find((instance) => instance.meta.version === 'b');
          if (chosen !== undefined) picks.push(chosen.id);
          return chosen;
        },
      };
    };
    const discovery = discoveryWith(address, {
      [other]: { balancer: otherBalancer, outlierDetection: false },
    });
    await waitFor('the chain is in force', () =>
      discovery.service(web).trafficPlan?.chain.targets.has('t') === true ? true : undefined,
    );
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await discovery.service(web).request({ path: '/' });
      answers.push(await response.body.text());
    }
    expect(answers).toEqual(Array.from({ length: 10 }, () => 'b'));
    expect(picks).toHaveLength(10);
  });

  // The instances of another service are the ones a direct call to it would see: its own tag and
  // filter, never the chain owner's (web's tag would leave the other service with none).
  it("a chain routing to another service reads that service's instances with its own query, not the owner's", async () => {
    const web = uniqueService('ht-query');
    const other = uniqueService('ht-query-other');
    await instanceOf(other, 'a');
    await instanceOf(other, 'b');
    await hasEntries(web);
    const address = await chainProxy(new Map([[web, chainOf(web, { Service: other })]]));
    const discovery = discoveryWith(address, {
      [web]: { tag: 'only-on-web' },
      [other]: { filter: 'Service.Meta.version == "b"' },
    });
    await waitFor('the chain is in force', () =>
      discovery.service(web).trafficPlan?.chain.targets.has('t') === true ? true : undefined,
    );
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await discovery.service(web).request({ path: '/' });
      answers.push(await response.body.text());
    }
    expect(answers).toEqual(Array.from({ length: 6 }, () => 'b'));
  });

  // `express-consul chain` against a compromised or hanging agent: the chain answers, every
  // health read hangs. Counted in batches of 8, each read up to its own request timeout, 32
  // targets took 4 x 5 s = 20 s (measured); the counts now share one budget.
  it('a chain of 32 targets (half in datacenters that do not exist) on an agent whose health reads hang: counted within one budget', async () => {
    const targets: Record<string, unknown> = {};
    const nodes: Record<string, unknown> = {};
    for (let i = 0; i < 32; i++) {
      targets[`t${i}`] = {
        ID: `t${i}`,
        Service: `s${i}`,
        Namespace: 'default',
        Partition: 'default',
        Datacenter: i % 2 === 1 ? 'dc1' : `nodc${i}`,
      };
      nodes[`resolver:t${i}`] = { Type: 'resolver', Name: `t${i}`, Resolver: { Target: `t${i}` } };
    }
    const chain = {
      Chain: {
        ServiceName: 'web',
        Namespace: 'default',
        Partition: 'default',
        Datacenter: 'dc1',
        Protocol: 'http',
        StartNode: 'resolver:t0',
        Nodes: nodes,
        Targets: targets,
      },
    };
    let healthReads = 0;
    const agent = createServer((request, response) => {
      if (request.url?.startsWith('/v1/discovery-chain/') === true) {
        response.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '3' });
        response.end(JSON.stringify(chain));
        return;
      }
      healthReads += 1; // never answered
    });
    await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
    servers.push(agent);
    const consulClient = new ConsulClient({
      address: `http://127.0.0.1:${(agent.address() as AddressInfo).port}`,
    });
    try {
      const started = performance.now();
      const view = await readChainView(consulClient, 'web', new AbortController().signal, {
        countBudgetMs: 500,
      });
      const tookMs = performance.now() - started;
      console.log(`chain view over a hanging agent, 32 targets: ${tookMs.toFixed(0)} ms`);
      expect(healthReads).toBeGreaterThan(0);
      expect(view.targets).toHaveLength(32);
      expect(view.targets.every((t) => t.unreadable === 'no answer within 500 ms')).toBe(true);
      // The budget plus room for a loaded machine; the request timeout (5 s) alone is ten times it.
      expect(tookMs).toBeLessThan(2_500);
    } finally {
      await consulClient.close();
    }
  });

  // Consul accepts PrefixRewrite with PathExact and Envoy swaps the matched path for it (the query
  // stays); the plan applied it to PathPrefix routes only, sending the caller's path unchanged.
  it('a PathExact route with PrefixRewrite sends the rewritten path, query kept (real entries)', async () => {
    const web = uniqueService('ht-rw');
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const serviceId = `${web}-rw`;
    await consulCall('PUT', '/v1/agent/service/register', {
      Name: web,
      ID: serviceId,
      Address: '127.0.0.1',
      Port: (server.address() as AddressInfo).port,
    });
    registered.push(serviceId);
    const entries = [
      { Kind: 'service-defaults', Name: web, Protocol: 'http' },
      {
        Kind: 'service-router',
        Name: web,
        Routes: [
          {
            Match: { HTTP: { PathExact: '/old' } },
            Destination: { PrefixRewrite: '/new/place' },
          },
        ],
      },
    ];
    for (const entry of entries) await consulCall('PUT', '/v1/config', entry);
    cleanups.push(async () => {
      await consulCall('DELETE', `/v1/config/service-router/${web}`);
      await consulCall('DELETE', `/v1/config/service-defaults/${web}`);
    });
    const discovery = discoveryWith(consul());
    await waitFor('the router is in force', () =>
      discovery.service(web).trafficPlan?.chain.nodes.has(`router:${web}.default.default`) === true
        ? true
        : undefined,
    );
    for (const path of ['/old', '/old?x=1', '/older']) {
      const response = await discovery.service(web).request({ path });
      await response.body.dump();
    }
    expect(paths).toEqual(['/new/place', '/new/place?x=1', '/older']);
  });

  // The watch lane over HTTP/1.1 (the dev agent) carries one blocking query per connection. With
  // consul.maxConnections 8 it has 3 for blocking queries: the three config-entry lists take them
  // all, so the chains of two services with entries must still be followed within the rate.
  it('more traffic watches than the watch lane has blocking connections: every chain change still governs', async () => {
    // maxConnections 9, the least traffic management takes, leaves the watch lane 4 connections
    // for blocking queries: the 3 entry lists and the check watch. Four services with entries:
    // were every chain a blocking query of its own, some would wait in the pool's queue behind
    // the others' whole wait (60 s).
    const names = [1, 2, 3, 4].map((k) => uniqueService(`ht-lane-${k}`));
    const resolver = (name: string, subset: string): Record<string, unknown> => ({
      Kind: 'service-resolver',
      Name: name,
      DefaultSubset: subset,
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: 'Service.Meta.version == "2"' },
      },
    });
    for (const name of names) {
      await instanceOf(name, '1');
      await instanceOf(name, '2');
      await consulCall('PUT', '/v1/config', resolver(name, 'v1'));
      written.push(name);
    }
    const discovery = createDiscovery({
      consul: { address: consul(), maxConnections: 9 },
      metrics: { registry: new Registry() },
      trafficManagement: true,
      client: { maxAttempts: 1, retryBackoff: { baseMs: 0 }, readyTimeoutMs: 3_000 },
    });
    discoveries.push(discovery);
    const versionOf = async (name: string): Promise<string | undefined> => {
      const response = await discovery.service(name).request({ path: '/' });
      await response.body.dump();
      return response.instance.meta.version;
    };
    for (const name of names) expect(await versionOf(name)).toBe('1');
    const written_ = performance.now();
    for (const name of names) await consulCall('PUT', '/v1/config', resolver(name, 'v2'));
    for (const name of names) {
      await waitFor(
        `the changed chain of ${name} governs`,
        async () => ((await versionOf(name)) === '2' ? true : undefined),
        { timeoutMs: 10_000 },
      );
    }
    console.log(
      `4 chain changes applied with 4 chains, 3 entry lists and the check watch on 4 blocking connections: ${(performance.now() - written_).toFixed(0)} ms`,
    );
  }, 60_000);
});

// The chain Consul 1.16.3 itself compiles from real config entries, parsed into our model: field
// names, duration encodings, node keys and target ids are Consul's, not a fixture's guess.
import { parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import type { ResolverNode, RouterNode, SplitterNode } from '../../src/traffic/discovery-chain';
import { matchRoute } from '../../src/traffic/route-match';

const consul = (): string => process.env.CONSUL_HTTP_ADDR!;
const web = `chain-web-${process.pid}`;
const other = `chain-other-${process.pid}`;
const plain = `chain-plain-${process.pid}`;

async function put(entry: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${consul()}/v1/config`, {
    method: 'PUT',
    body: JSON.stringify(entry),
  });
  expect({ status: response.status, body: (await response.text()).trim() }).toEqual({
    status: 200,
    body: 'true',
  });
}

async function chain(name: string): Promise<unknown> {
  const response = await fetch(`${consul()}/v1/discovery-chain/${name}`);
  expect(response.status).toBe(200);
  return response.json();
}

const entries: [string, string][] = [];

describe('discovery chain: real Consul answers', () => {
  beforeAll(async () => {
    const write = async (entry: Record<string, unknown>): Promise<void> => {
      await put(entry);
      entries.unshift([entry.Kind as string, entry.Name as string]);
    };
    await write({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await write({ Kind: 'service-defaults', Name: other, Protocol: 'http' });
    await write({
      Kind: 'service-resolver',
      Name: web,
      DefaultSubset: 'v1',
      ConnectTimeout: '3s',
      RequestTimeout: '7s',
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: 'Service.Meta.version == "2"', OnlyPassing: true },
      },
      Failover: {
        v1: { Targets: [{ ServiceSubset: 'v2' }, { Service: other, Datacenter: 'dc2' }] },
      },
    });
    await write({
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        { Weight: 90, ServiceSubset: 'v1' },
        { Weight: 10, ServiceSubset: 'v2' },
      ],
    });
    await write({
      Kind: 'service-router',
      Name: web,
      Routes: [
        {
          Match: {
            HTTP: {
              PathPrefix: '/admin',
              Header: [{ Name: 'X-Debug', Exact: '1' }],
              Methods: ['GET', 'POST'],
            },
          },
          Destination: {
            ServiceSubset: 'v2',
            RequestTimeout: '2s',
            NumRetries: 3,
            RetryOnConnectFailure: true,
            RetryOnStatusCodes: [503, 504],
          },
        },
        {
          Match: {
            HTTP: {
              PathRegex: '/api/v[0-9]+/.*',
              QueryParam: [{ Name: 'canary', Exact: 'true' }],
            },
          },
          Destination: { ServiceSubset: 'v2' },
        },
        {
          Match: {
            HTTP: {
              PathExact: '/health',
              Header: [{ Name: 'user-agent', Prefix: 'curl', Invert: true }],
            },
          },
          Destination: { Service: other },
        },
      ],
    });
  });

  afterAll(async () => {
    for (const [kind, name] of entries) {
      await fetch(`${consul()}/v1/config/${kind}/${name}`, { method: 'DELETE' });
    }
  });

  it('router -> splitter -> resolvers with subsets, failover and timeouts', async () => {
    const raw = await chain(web);
    if (process.env.SHOW_CHAIN) process.stdout.write(`${JSON.stringify(raw, null, 1)}\n`);
    const model = parseDiscoveryChain(raw);
    expect(model).toMatchObject({ serviceName: web, protocol: 'http', isDefault: false });
    expect(Object.isFrozen(model)).toBe(true);

    const start = model.nodes.get(model.startNode) as RouterNode;
    expect(start.type).toBe('router');
    // Our three routes plus the catch-all Consul appends.
    expect(start.routes).toHaveLength(4);
    const [admin, api, health, fallback] = start.routes;
    expect(admin!.match).toMatchObject({
      pathPrefix: '/admin',
      methods: ['GET', 'POST'],
      headers: [{ name: 'x-debug', kind: 'exact', value: '1', invert: false }],
    });
    expect(admin!.destination).toMatchObject({
      serviceSubset: 'v2',
      requestTimeoutMs: 2_000,
      numRetries: 3,
      retryOnConnectFailure: true,
      retryOnStatusCodes: [503, 504],
    });
    expect(admin!.nextNode).toBe(`resolver:v2.${web}.default.default.dc1`);
    expect(api!.match?.pathRegex?.source).toBe('/api/v[0-9]+/.*');
    expect(api!.match?.queryParams).toEqual([{ name: 'canary', kind: 'exact', value: 'true' }]);
    expect(health!.match).toMatchObject({
      pathExact: '/health',
      headers: [{ name: 'user-agent', kind: 'prefix', value: 'curl', invert: true }],
    });
    expect(health!.nextNode).toBe(`resolver:${other}.default.default.dc1`);
    expect(fallback!.match?.pathPrefix).toBe('/');
    expect(fallback!.nextNode).toBe(`splitter:${web}.default.default`);

    const splitter = model.nodes.get(fallback!.nextNode) as SplitterNode;
    expect(splitter.splits.map((s) => [s.weight, s.nextNode])).toEqual([
      [90, `resolver:v1.${web}.default.default.dc1`],
      [10, `resolver:v2.${web}.default.default.dc1`],
    ]);

    const v1 = model.nodes.get(`resolver:v1.${web}.default.default.dc1`) as ResolverNode;
    expect(v1).toMatchObject({
      type: 'resolver',
      isDefault: false,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 7_000,
      target: `v1.${web}.default.default.dc1`,
    });
    expect(v1.failover?.targets).toEqual([
      `v2.${web}.default.default.dc1`,
      `${other}.default.default.dc2`,
    ]);

    const v1Target = model.targets.get(v1.target)!;
    expect(v1Target).toMatchObject({
      service: web,
      serviceSubset: 'v1',
      datacenter: 'dc1',
      onlyPassing: false,
      connectTimeoutMs: 3_000,
    });
    expect(v1Target.filter.source).toBe('Service.Meta.version == "1"');
    expect(v1Target.filter.matches({ Service: { Meta: { version: '1' } } })).toBe(true);
    expect(v1Target.filter.matches({ Service: { Meta: { version: '2' } } })).toBe(false);
    expect(model.targets.get(`v2.${web}.default.default.dc1`)?.onlyPassing).toBe(true);
    expect(model.targets.get(`${other}.default.default.dc2`)?.datacenter).toBe('dc2');

    // The parsed router routes as Envoy would.
    const pick = (method: string, url: string, headers: Record<string, string> = {}): number =>
      matchRoute(start, { method, url, headers })!.index;
    expect(pick('GET', '/admin/users', { 'x-debug': '1' })).toBe(0);
    expect(pick('DELETE', '/admin/users', { 'x-debug': '1' })).toBe(3);
    expect(pick('GET', '/api/v2/items?canary=true')).toBe(1);
    expect(pick('GET', '/api/v2/items?canary=false')).toBe(3);
    expect(pick('GET', '/health', { 'user-agent': 'kube-probe' })).toBe(2);
    expect(pick('GET', '/health', { 'user-agent': 'curl/8' })).toBe(3);
  });

  it('a service with no config entries: one default resolver on the tcp protocol', async () => {
    const model = parseDiscoveryChain(await chain(plain));
    expect(model).toMatchObject({ serviceName: plain, protocol: 'tcp', isDefault: true });
    expect(model.startNode).toBe(`resolver:${plain}.default.default.dc1`);
    expect([...model.nodes.keys()]).toEqual([model.startNode]);
    const resolver = model.nodes.get(model.startNode) as ResolverNode;
    expect(resolver).toMatchObject({
      isDefault: true,
      connectTimeoutMs: 5_000,
      failover: undefined,
    });
    const target = model.targets.get(resolver.target)!;
    expect(target).toMatchObject({ service: plain, serviceSubset: '', onlyPassing: false });
    expect(target.filter.matches({})).toBe(true);
  });
});

// A service-router route's and a service-splitter split's RequestHeaders / ResponseHeaders, as
// Consul 1.16.3's dev agent compiles them into the chain, applied to real calls: the headers the
// instance received and the ones the caller got back, through `fetch` and `request()` both.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery, TrafficStatus } from '../../src';
import type { RouterNode } from '../../src/traffic/discovery-chain';
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

describe('header modifiers of routes and splits, on real calls', () => {
  const web = uniqueService('hm-web');
  const written: [string, string][] = [];
  let server: Server;
  /** The headers of the last request the instance received. */
  let received: IncomingHttpHeaders = {};
  let discovery: Discovery;

  const put = async (entry: Record<string, unknown>): Promise<void> => {
    expect((await consulCall('PUT', '/v1/config', entry)).trim()).toBe('true');
    if (!written.some(([k, n]) => k === entry.Kind && n === entry.Name)) {
      written.unshift([entry.Kind as string, entry.Name as string]);
    }
  };
  const router = (requestSet: Record<string, string>): Record<string, unknown> => ({
    Kind: 'service-router',
    Name: web,
    Routes: [
      {
        Match: { HTTP: { PathPrefix: '/' } },
        Destination: {
          Service: web,
          RequestHeaders: {
            Add: { 'X-Route-Added': 'route' },
            Set: { 'X-Who': 'route', ...requestSet },
            Remove: ['X-Secret'],
          },
          ResponseHeaders: { Set: { 'X-Served-Through': 'chain' }, Remove: ['X-Internal'] },
        },
      },
    ],
  });
  /** The route's Set of X-Who as the chain in force has it. */
  const routeWho = (): string | undefined => {
    const node = discovery
      .service(web)
      .trafficPlan?.chain.nodes.get(`router:${web}.default.default`);
    const set = (node as RouterNode | undefined)?.routes[0]?.destination?.requestHeaders?.set;
    return set?.find(([name]) => name === 'x-who')?.[1];
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      received = request.headers;
      response.setHeader('x-internal', 'leaks');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await consulCall('PUT', '/v1/agent/service/register', {
      Name: web,
      ID: `${web}-1`,
      Address: '127.0.0.1',
      Port: (server.address() as AddressInfo).port,
    });
    await put({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await put({
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        {
          Weight: 100,
          RequestHeaders: { Set: { 'X-Who': 'split', 'X-Split': 'all' } },
          ResponseHeaders: { Add: { 'X-Split-Seen': 'yes' } },
        },
      ],
    });
    await put(router({}));
    discovery = createDiscovery({ metrics: { registry: new Registry() }, trafficManagement: true });
    await waitFor('the chain with the route is in force', () =>
      routeWho() === 'route' ? true : undefined,
    );
  });

  afterAll(async () => {
    await discovery?.close();
    for (const [kind, name] of written) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
    await consulCall('PUT', `/v1/agent/service/deregister/${web}-1`);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("sends the split's changes then the route's (removed, added, set) and changes the answer's headers", async () => {
    const response = await discovery.service(web).request({
      path: '/',
      headers: { 'x-secret': 'token-of-the-caller', 'X-Route-Added': 'caller', 'x-keep': 'k' },
    });
    await response.body.text();
    expect(received['x-secret']).toBeUndefined();
    // Added: the caller's value stays, the route's comes as another line.
    expect(received['x-route-added']).toBe('caller, route');
    // Both set it; the route's, applied last, is what went out.
    expect(received['x-who']).toBe('route');
    expect(received['x-split']).toBe('all');
    expect(received['x-keep']).toBe('k');
    expect(response.headers['x-served-through']).toBe('chain');
    expect(response.headers['x-split-seen']).toBe('yes');
    expect(response.headers['x-internal']).toBeUndefined();
  });

  it('does the same through fetch', async () => {
    const response = await discovery.fetch(`http://${web}/`, { headers: { 'x-secret': 's' } });
    await response.text();
    expect(received['x-secret']).toBeUndefined();
    expect(received['x-who']).toBe('route');
    expect(response.headers.get('x-served-through')).toBe('chain');
    expect(response.headers.get('x-internal')).toBeNull();
  });

  it("never changes the caller's idempotency key, which is what makes its POST retried", async () => {
    // A chain setting (or removing) it would have every retried POST reach the instance under
    // a key the caller never gave: distinct calls deduplicated as one, or a retry unprotected.
    const setsKey = (): boolean => {
      const node = discovery
        .service(web)
        .trafficPlan?.chain.nodes.get(`router:${web}.default.default`);
      const set = (node as RouterNode | undefined)?.routes[0]?.destination?.requestHeaders?.set;
      return set?.some(([name]) => name === 'idempotency-key') === true;
    };
    await put(router({ 'Idempotency-Key': 'the-same-for-everyone' }));
    await waitFor('the chain setting the key is in force', () => (setsKey() ? true : undefined));
    try {
      const response = await discovery
        .service(web)
        .request({ method: 'POST', path: '/', body: 'charge', idempotencyKey: 'caller-key-1' });
      await response.body.text();
      expect(received['idempotency-key']).toBe('caller-key-1');
      // A call without a key gets the chain's header: only the caller's own key is kept.
      const plain = await discovery.service(web).request({ path: '/' });
      await plain.body.text();
      expect(received['idempotency-key']).toBe('the-same-for-everyone');
    } finally {
      await put(router({}));
      await waitFor('the good chain again', () => (setsKey() ? undefined : true));
    }
  });

  it.each([
    ['sets Host', { Host: 'evil.example' }, /'host' cannot be changed/],
    ['injects a header line', { 'X-Who': 'a\r\nx-injected: 1' }, /CR, LF or NUL/],
    // undici refuses it in every request: accepted, the chain would fail each call it routes.
    ['sets a control character', { 'X-Who': 'a\u0001b' }, /control character/],
  ])('keeps the last good chain when a route %s', async (_what, hostile, reason) => {
    // Consul 1.16.3 takes the entry as written; Envoy would refuse the route, and so do we.
    await put(router(hostile));
    const traffic = (): TrafficStatus | undefined => discovery.service(web).status().traffic;
    await waitFor('the hostile chain refused', () =>
      traffic()?.refused === true ? true : undefined,
    );
    expect(traffic()?.lastRefusal).toMatch(reason);
    expect(routeWho()).toBe('route');
    const response = await discovery
      .service(web)
      .request({ path: '/', headers: { 'x-secret': 's' } });
    await response.body.text();
    expect(received.host).not.toBe('evil.example');
    expect(received['x-injected']).toBeUndefined();
    expect(received['x-who']).toBe('route');
    expect(received['x-secret']).toBeUndefined();
    // Good again: followed, and no longer refused.
    await put(router({}));
    await waitFor('the good chain again', () => (traffic()?.refused === false ? true : undefined));
  });
});

// Hostile registrations in a real Consul agent: invalid instances never receive a call, are
// logged and counted once each, and registrations cannot borrow another instance's identity.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import type { BalancerName } from '../../src/balancer/balancer';
import { recordingLogger } from '../support/consul-reads';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const CONSUL = (): string => process.env.CONSUL_HTTP_ADDR!;

async function consulPut(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${CONSUL()}${path}`, {
    method: 'PUT',
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** An HTTP server on loopback counting the calls it answers. */
async function countingServer(
  name: string,
): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits += 1;
    res.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, hits: () => hits };
}

describe('hostile registrations in a real Consul agent', () => {
  const servers: Server[] = [];
  const discoveries: Discovery[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    await Promise.all(discoveries.splice(0).map((d) => d.close()));
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
    await Promise.all(
      servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  });

  async function register(
    body: { ID: string; Name: string } & Record<string, unknown>,
  ): Promise<void> {
    await consulPut('/v1/agent/service/register', body);
    cleanups.push(() =>
      consulPut(`/v1/agent/service/deregister/${encodeURIComponent(body.ID)}`, undefined),
    );
  }

  it('never calls an instance registered with port 70000: 20 of 20 calls succeed, one log line, one count', async () => {
    const name = uniqueService('hostile-port');
    const good = await countingServer('good');
    servers.push(good.server);
    await register({ ID: `${name}-good`, Name: name, Address: '127.0.0.1', Port: good.port });
    await register({ ID: `${name}-bad`, Name: name, Address: '127.0.0.1', Port: 70_000 });

    const registry = new Registry();
    const { lines, logger } = recordingLogger();
    const discovery = createDiscovery({ metrics: { registry }, logger });
    discoveries.push(discovery);
    const client = discovery.service(name);
    await client.ready();

    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        const response = await discovery.fetch(`http://${name}/x`);
        await response.text();
        if (response.status !== 200) failures.push(String(response.status));
      } catch (error) {
        failures.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(good.hits()).toBe(20);
    expect(client.instances().map((i) => i.port)).toEqual([good.port]);

    // Another answer (a change elsewhere in the service) must not log or count the bad one again.
    await register({ ID: `${name}-good2`, Name: name, Address: '127.0.0.1', Port: good.port });
    await waitFor('the second good instance', () =>
      client.instances().length === 2 ? true : undefined,
    );
    const invalidLines = lines.filter((line) => line.includes('invalid instance'));
    expect(invalidLines).toHaveLength(1);
    expect(invalidLines[0]).toContain(`${name}-bad`);
    expect(invalidLines[0]).toContain('70000');
    const metric = await registry
      .getSingleMetric('express_consul_discovery_invalid_instances_total')
      ?.get();
    expect(metric?.values).toEqual([{ labels: { service: name, reason: 'port' }, value: 1 }]);
  });

  it.each<BalancerName>(['round-robin', 'random', 'weighted', 'least-request'])(
    'keeps service a/b on node vm and service b on node vm/a apart (%s)',
    async (balancer) => {
      const name = uniqueService('hostile-identity');
      const node = `${name}-vm`;
      const a = await countingServer('a');
      const b = await countingServer('b');
      servers.push(a.server, b.server);
      for (const [nodeName, id, port] of [
        [node, 'a/b', a.port],
        [`${node}/a`, 'b', b.port],
      ] as const) {
        await consulPut('/v1/catalog/register', {
          Node: nodeName,
          Address: '127.0.0.1',
          Service: { ID: id, Service: name, Port: port },
        });
        cleanups.push(() => consulPut('/v1/catalog/deregister', { Node: nodeName }));
      }

      const discovery = createDiscovery({ metrics: false, client: { balancer } });
      discoveries.push(discovery);
      const client = discovery.service(name);
      await waitFor('both instances', () => (client.instances().length === 2 ? true : undefined));
      const servedBy = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const response = await discovery.fetch(`http://${name}/x`);
        servedBy.add(response.headers.get('x-served-by') ?? '');
        await response.text();
      }
      expect(new Set(client.instances().map((i) => i.id)).size).toBe(2);
      expect(a.hits()).toBeGreaterThan(0);
      expect(b.hits()).toBeGreaterThan(0);
      expect([...servedBy].sort()).toEqual([`${node}%2Fa/b`, `${node}/a%2Fb`]);
    },
  );
});

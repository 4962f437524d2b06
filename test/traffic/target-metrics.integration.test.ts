// client_target_requests_total against the run's real dev agent: a 90/10 split between two
// subsets, calls through the library's own client, and the counts read from the /metrics text.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import type { SplitterNode } from '../../src/traffic/discovery-chain';
import { parsePrometheusText } from '../support/prometheus-text';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

jest.setTimeout(120_000);

const NAME = 'express_consul_client_target_requests_total';

async function consulCall(method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`${process.env.CONSUL_HTTP_ADDR}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text;
}

describe('calls per chain target in /metrics (real Consul)', () => {
  const web = uniqueService('tmetrics-web');
  const registry = new Registry();
  const servers: Server[] = [];
  const registered: string[] = [];
  const written: [string, string][] = [];
  let discovery: Discovery;
  const v1 = `v1.${web}.default.default.dc1`;
  const v2 = `v2.${web}.default.default.dc1`;

  async function putEntry(entry: Record<string, unknown>): Promise<void> {
    expect((await consulCall('PUT', '/v1/config', entry)).trim()).toBe('true');
    const key: [string, string] = [entry.Kind as string, entry.Name as string];
    if (!written.some(([k, n]) => k === key[0] && n === key[1])) written.unshift(key);
  }

  /** The target series of `web` in the exposition, `target -> value`. */
  async function targetCounts(): Promise<Record<string, number>> {
    const { samples } = parsePrometheusText(await registry.metrics());
    return Object.fromEntries(
      samples
        .filter((s) => s.name === NAME && s.labels.service === web)
        .map((s) => [s.labels.target!, s.value]),
    );
  }

  const splitV1 = (): number | undefined => {
    const plan = discovery.service(web).trafficPlan;
    const nodes = plan === undefined ? [] : [...plan.chain.nodes.values()];
    const node = nodes.find((n): n is SplitterNode => n.type === 'splitter');
    return node?.splits.find((s) => s.serviceSubset === 'v1')?.weight;
  };

  /** `total` calls, 8 at a time; returns the count per answering version. */
  async function calls(total: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          next += 1;
          const response = await discovery.service(web).request({ path: '/' });
          expect(response.statusCode).toBe(200);
          const version = await response.body.text();
          seen.set(version, (seen.get(version) ?? 0) + 1);
        }
      }),
    );
    return seen;
  }

  beforeAll(async () => {
    for (const [id, version] of [
      ['a', '1'],
      ['b', '2'],
    ] as const) {
      const server = createServer((_request, response) => response.end(version));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      await consulCall('PUT', '/v1/agent/service/register', {
        Name: web,
        ID: `${web}-${id}`,
        Address: '127.0.0.1',
        Port: (server.address() as AddressInfo).port,
        Meta: { version },
        Check: { CheckID: `check-${web}-${id}`, TTL: '600s', Status: 'passing' },
      });
      registered.push(`${web}-${id}`);
    }
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await putEntry({
      Kind: 'service-resolver',
      Name: web,
      DefaultSubset: 'v1',
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: 'Service.Meta.version == "2"' },
      },
    });
    await putEntry({
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        { Weight: 90, ServiceSubset: 'v1' },
        { Weight: 10, ServiceSubset: 'v2' },
      ],
    });
    discovery = createDiscovery({ metrics: { registry }, trafficManagement: true });
    await waitFor('the chain routes by a 90/10 split', () => (splitV1() === 90 ? true : undefined));
    await waitFor('both targets have their instance', () => {
      const plan = discovery.service(web).trafficPlan!;
      return [v1, v2].every((id) => plan.table(id)?.hasInstances === true) ? true : undefined;
    });
  });

  afterAll(async () => {
    await discovery?.close();
    for (const [kind, name] of written) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
    for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a 90/10 split shows as counts in that ratio per target, each equal to the calls it answered', async () => {
    const total = 5_000;
    const answered = await calls(total);
    const counts = await targetCounts();
    process.stdout.write(
      `target counts over ${total} calls: ${JSON.stringify(counts)}, answered ${JSON.stringify([...answered])}\n`,
    );
    expect(Object.keys(counts).sort()).toEqual([v1, v2]);
    // Each target's count is exactly the calls its instance answered: counted where the plan chose.
    expect(counts[v1]).toBe(answered.get('1'));
    expect(counts[v2]).toBe(answered.get('2'));
    expect(counts[v1]! + counts[v2]!).toBe(total);
    expect(Math.abs((counts[v1]! / total) * 100 - 90)).toBeLessThanOrEqual(2);
  });

  it('a target removed from the chain loses its series', async () => {
    // Without the splitter, the chain is the resolver's default subset alone: v2 leaves it.
    await consulCall('DELETE', `/v1/config/service-splitter/${web}`);
    await waitFor('the chain without v2', () => {
      const plan = discovery.service(web).trafficPlan;
      return plan !== undefined && !plan.chain.targets.has(v2) ? true : undefined;
    });
    const before = (await targetCounts())[v1]!;
    const answered = await calls(200);
    expect([...answered.keys()]).toEqual(['1']);
    const counts = await targetCounts();
    expect(Object.keys(counts)).toEqual([v1]);
    expect(counts[v1]).toBe(before + 200);
  });
});

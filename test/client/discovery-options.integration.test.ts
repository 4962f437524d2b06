import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

describe('per-service options against a real Consul agent', () => {
  const instances: TestInstance[] = [];
  let discovery: Discovery | undefined;

  afterEach(async () => {
    await discovery?.close();
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  it('apply to a service whose key differs in case from the URL host', async () => {
    const name = uniqueService('case');
    const [blue, green] = await Promise.all([
      startInstance(name, { tags: ['blue'] }),
      startInstance(name, { tags: ['green'] }),
    ]);
    instances.push(blue, green);
    // Both must be passing first, or calls could miss `green` for lack of health, not of options.
    const probe = createDiscovery({ metrics: false });
    const all = probe.service(name);
    await waitFor(
      'two passing instances',
      () => (all.instances().length === 2 ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    ).finally(() => probe.close());
    // `new URL('http://CASE-.../')` lower-cases the host: the per-service entry must still apply.
    discovery = createDiscovery({
      metrics: { registry: new Registry() },
      services: { [name.toUpperCase()]: { tag: 'blue' } },
    });
    const client = discovery.service(name);
    await waitFor('a first answer', () => (client.instances().length > 0 ? true : undefined), {
      timeoutMs: 10_000,
    });
    for (let i = 0; i < 10; i++) {
      const response = await discovery.fetch(`http://${name.toUpperCase()}/hello`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(blue.hits).toHaveLength(10);
    expect(green.hits).toHaveLength(0);
  });
});

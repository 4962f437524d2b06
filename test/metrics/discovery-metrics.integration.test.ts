// Discovery metrics against the run's shared Consul dev agent (CONSUL_HTTP_ADDR): two Discovery
// objects on one prom-client registry, as an application with two ExpressConsul/Discovery has.
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src/client/create-discovery';
import type { Discovery } from '../../src/client/discovery';
import { ConsulClient } from '../../src/consul/consul-client';
import { findSample, parsePrometheusText } from '../support/prometheus-text';
import { waitFor } from '../../harness/wait-for';

const consul = new ConsulClient();
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const payments = `it-metrics-payments-${suffix}`;
const orders = `it-metrics-orders-${suffix}`;
const discoveries: Discovery[] = [];

beforeAll(async () => {
  await consul.registerService({
    Name: payments,
    ID: `${payments}-1`,
    Address: '127.0.0.1',
    Port: 9001,
  });
  await consul.registerService({
    Name: payments,
    ID: `${payments}-2`,
    Address: '127.0.0.1',
    Port: 9002,
  });
  await consul.registerService({
    Name: orders,
    ID: `${orders}-1`,
    Address: '127.0.0.1',
    Port: 9003,
  });
});

afterAll(async () => {
  await Promise.all(discoveries.map((discovery) => discovery.close()));
  await Promise.allSettled(
    [`${payments}-1`, `${payments}-2`, `${orders}-1`].map((id) => consul.deregisterService(id)),
  );
  await consul.close();
});

async function healthy(registry: Registry, service: string): Promise<number | undefined> {
  const { samples } = parsePrometheusText(await registry.metrics());
  return findSample(samples, 'express_consul_discovery_instances', { service, state: 'healthy' })
    ?.value;
}

describe('Discovery metrics on one registry', () => {
  it('reports the services of both Discovery objects, and drops a closed one', async () => {
    const registry = new Registry();
    const first = createDiscovery({ metrics: { registry } });
    const second = createDiscovery({ metrics: { registry } });
    discoveries.push(first, second);
    await first.service(payments).watcher.ready(AbortSignal.timeout(10_000));
    await second.service(orders).watcher.ready(AbortSignal.timeout(10_000));

    await waitFor('both services in the scrape', async () =>
      (await healthy(registry, payments)) === 2 && (await healthy(registry, orders)) === 1
        ? true
        : undefined,
    );

    await second.close();
    const { samples } = parsePrometheusText(await registry.metrics());
    expect(
      findSample(samples, 'express_consul_discovery_instances', { service: orders }),
    ).toBeUndefined();
    expect(
      findSample(samples, 'express_consul_discovery_staleness_seconds', { service: orders }),
    ).toBeUndefined();
    expect(await healthy(registry, payments)).toBe(2);
  });
});

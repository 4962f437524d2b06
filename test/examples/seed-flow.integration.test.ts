import { request } from 'undici';
import { ConsulClient } from '../../src/consul/consul-client';
import { startExample } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { findSample, parsePrometheusText } from '../support/prometheus-text';

describe("the seed's flow: three my_service instances and a gateway that calls them by name", () => {
  const children: ChildService[] = [];
  const consul = new ConsulClient();

  afterAll(async () => {
    for (const child of children) child.child.kill('SIGTERM');
    await Promise.all(children.map((child) => child.exited));
    await consul.close();
  });

  it('answers through the gateway with bodies from every instance, and serves parseable /metrics', async () => {
    const env = { CHECK_INTERVAL_MS: '1000', PROPAGATION_DELAY_MS: '0' };
    for (let i = 0; i < 3; i++)
      children.push(startExample('my-service', { ...env, INSTANCE_NAME: `seed-${i}` }));
    const gateway = startExample('gateway', env);
    children.push(gateway);
    const ids = await Promise.all(
      children.slice(0, 3).map(async (child) => (await child.next('listening')).id),
    );
    const { port } = await gateway.next('listening');
    const base = `http://127.0.0.1:${String(port)}`;

    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (seen.size < 3 && Date.now() < deadline) {
      const response = await request(`${base}/`);
      const body = (await response.body.json()) as { message?: string; id?: string };
      if (response.statusCode === 200 && body.id && ids.includes(body.id)) seen.add(body.id);
    }
    expect([...seen].sort()).toEqual([...ids].sort());

    const metrics = await request(`${base}/metrics`);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    const { types, samples } = parsePrometheusText(await metrics.body.text());
    for (const [name, type] of [
      ['express_consul_discovery_instances', 'gauge'],
      ['express_consul_discovery_staleness_seconds', 'gauge'],
      ['express_consul_discovery_updates_total', 'counter'],
      ['express_consul_discovery_watch_errors_total', 'counter'],
      ['express_consul_discovery_index_resets_total', 'counter'],
      ['express_consul_client_requests_total', 'counter'],
      ['express_consul_client_request_duration_seconds', 'histogram'],
      ['express_consul_client_attempts_total', 'counter'],
      ['express_consul_client_retries_total', 'counter'],
      ['express_consul_client_retry_budget_exhausted_total', 'counter'],
      ['express_consul_client_ejections_total', 'counter'],
      ['express_consul_registration_state', 'gauge'],
      ['express_consul_registration_reregistrations_total', 'counter'],
      ['express_consul_drain_state', 'gauge'],
    ]) {
      expect([name, types.get(name!)]).toEqual([name, type]);
    }
    const sample = (name: string, labels: Record<string, string>) =>
      findSample(samples, name, labels);
    expect(
      sample('express_consul_discovery_instances', { service: 'my_service', state: 'healthy' })
        ?.value,
    ).toBeGreaterThanOrEqual(3);
    expect(
      sample('express_consul_client_requests_total', { service: 'my_service', outcome: 'success' })
        ?.value,
    ).toBeGreaterThanOrEqual(3);
    expect(
      sample('express_consul_registration_state', { service: 'gateway', state: 'registered' })
        ?.value,
    ).toBe(1);
    expect(
      sample('express_consul_client_request_duration_seconds_bucket', { le: '+Inf' }),
    ).toBeDefined();
  });
});

import { Registry } from 'prom-client';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import { parsePrometheusText } from '../support/prometheus-text';

describe('ExpressConsulMetrics', () => {
  it('creates its metrics once per registry: a second instance reuses them instead of throwing', async () => {
    const registry = new Registry();
    const first = new ExpressConsulMetrics(registry);
    const second = new ExpressConsulMetrics(registry);
    first.retried('payments', 'status_503');
    second.retried('payments', 'status_503');
    const { samples } = parsePrometheusText(await registry.metrics());
    const retries = samples.find((s) => s.name === 'express_consul_client_retries_total');
    expect(retries).toMatchObject({
      labels: { service: 'payments', reason: 'status_503' },
      value: 2,
    });
  });

  it('bounds the instance label to 50 values per service', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry, 'x_');
    for (let i = 0; i < 80; i++) metrics.attemptFinished('payments', `instance-${i}`, 'success');
    const { samples } = parsePrometheusText(await registry.metrics());
    const attempts = samples.filter((s) => s.name === 'x_client_attempts_total');
    expect(new Set(attempts.map((s) => s.labels.instance)).size).toBe(51);
    expect(attempts.find((s) => s.labels.instance === 'other')?.value).toBe(30);
  });

  it('reads live instance counts and staleness at scrape time', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    let staleness = 0;
    const remove = metrics.addReadings({
      *services() {
        yield {
          service: 'payments',
          healthy: 2,
          warning: 1,
          ejected: 1,
          stalenessSeconds: staleness,
        };
      },
    });
    staleness = 12.5;
    let { samples } = parsePrometheusText(await registry.metrics());
    expect(
      samples.find((s) => s.name === 'express_consul_discovery_staleness_seconds')?.value,
    ).toBe(12.5);
    expect(
      samples.find(
        (s) => s.name === 'express_consul_discovery_instances' && s.labels.state === 'ejected',
      )?.value,
    ).toBe(1);
    remove();
    staleness = 99;
    ({ samples } = parsePrometheusText(await registry.metrics()));
    expect(
      samples.find((s) => s.name === 'express_consul_discovery_staleness_seconds')?.value,
    ).toBe(12.5);
  });
});

import { Registry } from 'prom-client';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import type { ServiceMetrics } from '../../src/metrics/express-consul-metrics';
import { parsePrometheusText } from '../support/prometheus-text';

/** Every series a client of a service can create. */
function touchEverything(metrics: ServiceMetrics): void {
  metrics.requestFinished('success', 0.01);
  metrics.requestFinished('no_instances', 0.001);
  metrics.retried('status_503');
  metrics.retryBudgetExhausted();
  metrics.ejected();
  metrics.watchUpdated();
  metrics.watchFailed();
  metrics.indexReset(2);
  metrics.instance('node/a').attempt('success');
  metrics.instance('node/b').attempt('timeout');
}

async function seriesOf(registry: Registry, service: string): Promise<string[]> {
  const { samples } = parsePrometheusText(await registry.metrics());
  return samples
    .filter((s) => s.labels.service === service)
    .map((s) => `${s.name}${JSON.stringify(s.labels)}`);
}

describe('ServiceMetrics.release', () => {
  it('removes every series of the service with its last holder, and only then', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const first = metrics.forService('payments');
    const second = metrics.forService('payments');
    const orders = metrics.forService('orders');
    touchEverything(first);
    touchEverything(orders);
    const all = await seriesOf(registry, 'payments');
    // requests, duration histogram, retries, budget, ejections, watch counters, two instances.
    expect(all.length).toBeGreaterThan(30);
    expect(all.some((s) => s.includes('discovery_watch_errors_total'))).toBe(true);
    expect(all.some((s) => s.includes('"upstream_instance":"node/a"'))).toBe(true);

    second.instance('node/a');
    first.release();
    first.release(); // idempotent: not a second share given back
    // Only the instance series no other client holds go with the first client.
    expect(await seriesOf(registry, 'payments')).toEqual(
      all.filter((s) => !s.includes('"upstream_instance":"node/b"')),
    );

    second.release();
    expect(await seriesOf(registry, 'payments')).toEqual([]);
    expect((await seriesOf(registry, 'orders')).length).toBeGreaterThan(30);
  });

  it('records nothing after release, so a late call of a released client brings no series back', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const released = metrics.forService('payments');
    const instance = released.instance('node/a');
    released.release();
    touchEverything(released);
    instance.attempt('success');
    expect(await seriesOf(registry, 'payments')).toEqual([]);
  });

  it('starts afresh for a new client after the last release', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const old = metrics.forService('payments');
    touchEverything(old);
    old.release();
    const fresh = metrics.forService('payments');
    fresh.retried('status_503');
    fresh.instance('node/a').attempt('success');
    // The old object stays silent even though the service has series again.
    touchEverything(old);
    const { samples } = parsePrometheusText(await registry.metrics());
    const ours = samples.filter((s) => s.labels.service === 'payments');
    expect(
      ours.map((s) => [s.name, s.labels.reason ?? s.labels.upstream_instance, s.value]),
    ).toEqual(
      expect.arrayContaining([
        ['express_consul_client_retries_total', 'status_503', 1],
        ['express_consul_client_attempts_total', 'node/a', 1],
      ]),
    );
    expect(ours).toHaveLength(2);
  });

  it('counts refusals by reason without a service label', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    metrics.serviceRefused('too_many_services');
    metrics.serviceRefused('too_many_services');
    metrics.serviceRefused('not_allowed');
    const { samples } = parsePrometheusText(await registry.metrics());
    const refused = samples.filter((s) => s.name === 'express_consul_discovery_refused_total');
    expect(refused.map((s) => [s.labels, s.value])).toEqual([
      [{ reason: 'too_many_services' }, 2],
      [{ reason: 'not_allowed' }, 1],
    ]);
  });
});

import { Registry } from 'prom-client';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import type { ServiceReading } from '../../src/metrics/express-consul-metrics';
import { findSample, parsePrometheusText } from '../support/prometheus-text';

/** A readings source that always reports `reading` (zeros where not given). */
function readingsOf(reading: Partial<ServiceReading> & { service: string }) {
  const full: ServiceReading = {
    healthy: 0,
    warning: 0,
    ejected: 0,
    stalenessSeconds: 0,
    ...reading,
  };
  return {
    *services() {
      yield full;
    },
  };
}

describe('ExpressConsulMetrics', () => {
  it('creates its metrics once per registry: a second instance reuses them instead of throwing', async () => {
    const registry = new Registry();
    const first = new ExpressConsulMetrics(registry);
    const second = new ExpressConsulMetrics(registry);
    first.forService('payments').retried('status_503');
    second.forService('payments').retried('status_503');
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
    const payments = metrics.forService('payments');
    for (let i = 0; i < 80; i++) payments.instance(`instance-${i}`).attempt('success');
    const { samples } = parsePrometheusText(await registry.metrics());
    const attempts = samples.filter((s) => s.name === 'x_client_attempts_total');
    expect(new Set(attempts.map((s) => s.labels.upstream_instance)).size).toBe(51);
    expect(attempts.find((s) => s.labels.upstream_instance === 'other')?.value).toBe(30);
  });

  it('collects the readings of every metrics object on one registry, not only the first one', async () => {
    const registry = new Registry();
    const first = new ExpressConsulMetrics(registry);
    const second = new ExpressConsulMetrics(registry);
    first.addReadings(readingsOf({ service: 'payments', healthy: 3 }));
    second.addReadings(readingsOf({ service: 'orders', healthy: 2, stalenessSeconds: 4 }));
    const { samples } = parsePrometheusText(await registry.metrics());
    const instances = 'express_consul_discovery_instances';
    expect(findSample(samples, instances, { service: 'payments', state: 'healthy' })?.value).toBe(
      3,
    );
    expect(findSample(samples, instances, { service: 'orders', state: 'healthy' })?.value).toBe(2);
    expect(
      findSample(samples, 'express_consul_discovery_staleness_seconds', { service: 'orders' })
        ?.value,
    ).toBe(4);
  });

  it('drops the series of a removed readings source at the next scrape', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const keep = metrics.addReadings(readingsOf({ service: 'payments', healthy: 1 }));
    const remove = metrics.addReadings(readingsOf({ service: 'orders', healthy: 1 }));
    const before = parsePrometheusText(await registry.metrics()).samples;
    expect(
      findSample(before, 'express_consul_discovery_instances', { service: 'orders' }),
    ).toBeDefined();
    remove();
    const { samples } = parsePrometheusText(await registry.metrics());
    const services = new Set(
      samples
        .filter((s) => s.name.startsWith('express_consul_discovery_'))
        .map((s) => s.labels.service),
    );
    expect(services).toEqual(new Set(['payments']));
    keep();
  });

  it('reads live instance counts and staleness at scrape time, and drops them once removed', async () => {
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
    const text = await registry.getSingleMetricAsString('express_consul_discovery_instances');
    expect(text).toContain(
      'express_consul_discovery_instances{service="payments",state="healthy"} 2',
    );
    expect(text).toContain(
      'express_consul_discovery_instances{service="payments",state="warning"} 1',
    );
    expect(text).toContain(
      'express_consul_discovery_instances{service="payments",state="ejected"} 1',
    );
    const staleText = await registry.getSingleMetricAsString(
      'express_consul_discovery_staleness_seconds',
    );
    expect(staleText).toContain(
      'express_consul_discovery_staleness_seconds{service="payments"} 12.5',
    );
    remove();
    staleness = 99;
    const { samples } = parsePrometheusText(await registry.metrics());
    expect(findSample(samples, 'express_consul_discovery_staleness_seconds', {})).toBeUndefined();
  });

  it('reports the largest reading when two sources watch the same service', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    metrics.addReadings(readingsOf({ service: 'payments', healthy: 3, ejected: 1 }));
    metrics.addReadings(
      readingsOf({ service: 'payments', healthy: 2, warning: 1, stalenessSeconds: 7 }),
    );
    const { samples } = parsePrometheusText(await registry.metrics());
    const instances = 'express_consul_discovery_instances';
    expect(findSample(samples, instances, { state: 'healthy' })?.value).toBe(3);
    expect(findSample(samples, instances, { state: 'warning' })?.value).toBe(1);
    expect(findSample(samples, instances, { state: 'ejected' })?.value).toBe(1);
    expect(findSample(samples, 'express_consul_discovery_staleness_seconds', {})?.value).toBe(7);
  });

  it('sets the registration and drain state gauges to 1 for the current state only', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry, 'x_');
    metrics.registrationChanged('web', 'registered', ['registering', 'registered', 'failed']);
    metrics.drainChanged('web', 'draining');
    const { samples } = parsePrometheusText(await registry.metrics());
    expect(findSample(samples, 'x_registration_state', { state: 'registered' })?.value).toBe(1);
    expect(findSample(samples, 'x_registration_state', { state: 'registering' })?.value).toBe(0);
    expect(findSample(samples, 'x_registration_state', { state: 'failed' })?.value).toBe(0);
    expect(findSample(samples, 'x_drain_state', { state: 'draining' })?.value).toBe(1);
    expect(findSample(samples, 'x_drain_state', { state: 'running' })?.value).toBe(0);
    expect(findSample(samples, 'x_drain_state', { state: 'closed' })?.value).toBe(0);
  });
});

describe('ExpressConsulMetrics.forService', () => {
  const attemptsOf = async (registry: Registry, service = 'payments') =>
    parsePrometheusText(await registry.metrics()).samples.filter(
      (s) => s.name === 'x_client_attempts_total' && s.labels.service === service,
    );

  it('counts calls and fills the duration histogram by outcome', async () => {
    const registry = new Registry();
    const payments = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    payments.requestFinished('success', 0.003);
    payments.requestFinished('success', 0.2);
    payments.requestFinished('timeout', 12);
    const { samples, types } = parsePrometheusText(await registry.metrics());
    expect(types.get('x_client_request_duration_seconds')).toBe('histogram');
    const bucket = (outcome: string, le: string) =>
      findSample(samples, 'x_client_request_duration_seconds_bucket', { outcome, le })?.value;
    expect(bucket('success', '0.005')).toBe(1);
    expect(bucket('success', '0.1')).toBe(1);
    expect(bucket('success', '0.25')).toBe(2);
    expect(bucket('success', '+Inf')).toBe(2);
    expect(bucket('timeout', '10')).toBe(0);
    expect(bucket('timeout', '+Inf')).toBe(1);
    const count = findSample(samples, 'x_client_request_duration_seconds_count', {
      service: 'payments',
      outcome: 'success',
    });
    expect(count?.value).toBe(2);
    expect(
      findSample(samples, 'x_client_request_duration_seconds_sum', { outcome: 'success' })?.value,
    ).toBeCloseTo(0.203, 6);
    expect(findSample(samples, 'x_client_requests_total', { outcome: 'success' })?.value).toBe(2);
    expect(findSample(samples, 'x_client_requests_total', { outcome: 'timeout' })?.value).toBe(1);
    // Bound children make no series before they are used.
    expect(findSample(samples, 'x_client_requests_total', { outcome: 'aborted' })).toBeUndefined();
  });

  it('counts retries by reason, exhausted budgets and ejections', async () => {
    const registry = new Registry();
    const payments = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    payments.retried('status_503');
    payments.retried('status_503');
    payments.retried('try_timeout');
    payments.retryBudgetExhausted();
    payments.ejected();
    payments.ejected();
    const { samples } = parsePrometheusText(await registry.metrics());
    expect(findSample(samples, 'x_client_retries_total', { reason: 'status_503' })?.value).toBe(2);
    expect(findSample(samples, 'x_client_retries_total', { reason: 'try_timeout' })?.value).toBe(1);
    expect(findSample(samples, 'x_client_retry_budget_exhausted_total', {})?.value).toBe(1);
    expect(findSample(samples, 'x_client_ejections_total', { service: 'payments' })?.value).toBe(2);
  });

  it('removes the series of a released instance; release is idempotent', async () => {
    const registry = new Registry();
    const payments = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    const a = payments.instance('node-1/payments-a');
    const b = payments.instance('node-1/payments-b');
    expect(payments.instance('node-1/payments-a')).toBe(a);
    a.attempt('success');
    a.attempt('timeout');
    b.attempt('success');
    expect(await attemptsOf(registry)).toHaveLength(3);

    a.release();
    a.release();
    a.attempt('success');
    const left = await attemptsOf(registry);
    expect(left.map((s) => [s.labels.upstream_instance, s.labels.outcome, s.value])).toEqual([
      ['node-1/payments-b', 'success', 1],
    ]);
    // The same identity seen again (it came back) gets a fresh handle and fresh series.
    const again = payments.instance('node-1/payments-a');
    expect(again).not.toBe(a);
    again.attempt('http_error');
    expect(
      findSample(await attemptsOf(registry), 'x_client_attempts_total', {
        upstream_instance: 'node-1/payments-a',
        outcome: 'http_error',
      })?.value,
    ).toBe(1);
  });

  it('gives at most 50 live instances a label of their own, the rest `other`, and frees slots on release', async () => {
    const registry = new Registry();
    const payments = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    const instances = Array.from({ length: 60 }, (_, i) => payments.instance(`n/p-${i}`));
    for (const instance of instances) instance.attempt('success');
    let samples = await attemptsOf(registry);
    expect(samples).toHaveLength(51);
    expect(
      findSample(samples, 'x_client_attempts_total', { upstream_instance: 'other' })?.value,
    ).toBe(10);
    expect(
      findSample(samples, 'x_client_attempts_total', { upstream_instance: 'n/p-50' }),
    ).toBeUndefined();

    // Ten named instances depart (a rolling restart): their slots go to the next newcomers.
    for (const instance of instances.slice(0, 10)) instance.release();
    // An overflowing instance departing leaves `other` alone: others still count in it.
    instances[55]!.release();
    const newcomers = Array.from({ length: 12 }, (_, i) => payments.instance(`n/new-${i}`));
    for (const instance of newcomers) instance.attempt('success');
    samples = await attemptsOf(registry);
    const labels = new Set(samples.map((s) => s.labels.upstream_instance));
    expect(labels.size).toBe(51);
    for (let i = 0; i < 10; i++) expect(labels.has(`n/new-${i}`)).toBe(true);
    expect(labels.has('n/new-10')).toBe(false);
    expect(labels.has('n/p-0')).toBe(false);
    expect(
      findSample(samples, 'x_client_attempts_total', { upstream_instance: 'other' })?.value,
    ).toBe(12);
  });

  it('keeps one bound per service across every metrics object and client on a registry', async () => {
    const registry = new Registry();
    const first = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    const second = new ExpressConsulMetrics(registry, 'x_').forService('payments');
    for (let i = 0; i < 30; i++) first.instance(`n/first-${i}`).attempt('success');
    for (let i = 0; i < 30; i++) second.instance(`n/second-${i}`).attempt('success');
    const samples = await attemptsOf(registry);
    expect(samples).toHaveLength(51);
    expect(
      findSample(samples, 'x_client_attempts_total', { upstream_instance: 'other' })?.value,
    ).toBe(10);
  });

  it('removes an instance shared by two clients only when both released it', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry, 'x_');
    const one = metrics.forService('payments').instance('n/shared');
    const two = metrics.forService('payments').instance('n/shared');
    one.attempt('success');
    two.attempt('success');
    one.release();
    expect((await attemptsOf(registry)).map((s) => s.value)).toEqual([2]);
    two.attempt('success');
    two.release();
    expect(await attemptsOf(registry)).toEqual([]);
  });

  it('counts calls and attempts without touching prom-client until the registry is read', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry, 'x_');
    type Spied = { inc: (...args: unknown[]) => void };
    const attempts = registry.getSingleMetric('x_client_attempts_total') as unknown as Spied;
    const requests = registry.getSingleMetric('x_client_requests_total') as unknown as Spied;
    const attemptInc = jest.spyOn(attempts, 'inc');
    const requestInc = jest.spyOn(requests, 'inc');
    const payments = metrics.forService('payments');
    const instance = payments.instance('n/p-1');
    for (let i = 0; i < 100; i++) {
      instance.attempt('success');
      payments.requestFinished('success', 0.001);
    }
    // prom-client hashes the labels on every inc(): the request path never calls it.
    expect(attemptInc).not.toHaveBeenCalled();
    expect(requestInc).not.toHaveBeenCalled();
    const { samples } = parsePrometheusText(await registry.metrics());
    expect(
      findSample(samples, 'x_client_attempts_total', {
        upstream_instance: 'n/p-1',
        outcome: 'success',
      })?.value,
    ).toBe(100);
    expect(findSample(samples, 'x_client_requests_total', { outcome: 'success' })?.value).toBe(100);
    // One inc per child per read, with the count since the last read.
    expect(attemptInc).toHaveBeenCalledTimes(1);
    instance.attempt('success');
    const again = parsePrometheusText(await registry.metrics()).samples;
    expect(
      findSample(again, 'x_client_attempts_total', {
        upstream_instance: 'n/p-1',
        outcome: 'success',
      })?.value,
    ).toBe(101);
  });
});

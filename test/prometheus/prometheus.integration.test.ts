import express from 'express';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { aggregateStatus } from '../support/consul-reads';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { PrometheusServer, prometheusBinaryPath, promtool } from './prometheus-server';
import type { PromSample } from './prometheus-server';

const deploy = resolve(__dirname, '../../deploy/prometheus');
const CALLS = 7;

/** `text` with `from` replaced by `to`; throws unless `from` occurs exactly once (the shipped file changed). */
function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`expected "${from}" once in the shipped prometheus.yml`);
  return parts.join(to);
}

/** The shipped deploy/prometheus/prometheus.yml, pointed at the test agent and sped up to 1 s. */
function shippedConfigFor(consulAddress: string): string {
  let config = readFileSync(resolve(deploy, 'prometheus.yml'), 'utf8');
  config = replaceOnce(
    config,
    "server: 'localhost:8500'",
    `server: '${new URL(consulAddress).host}'`,
  );
  config = replaceOnce(config, 'refresh_interval: 30s', 'refresh_interval: 1s');
  config = replaceOnce(config, 'scrape_interval: 15s', 'scrape_interval: 1s');
  return replaceOnce(config, 'evaluation_interval: 15s', 'evaluation_interval: 1s');
}

/** An in-process service with metrics on its own registry, served where its Consul meta says. */
async function startScrapedService(name: string, metricsPath: string): Promise<ExpressConsul> {
  const app = express();
  const consul = expressConsul(app, {
    service: { name, meta: { metrics_path: metricsPath }, check: { intervalMs: 1_000 } },
    metrics: { registry: new Registry() },
    shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
  });
  app.get(metricsPath, consul.metricsHandler());
  app.get('/hello', (_req, res) => void res.json({ id: consul.registration.serviceId }));
  await consul.listen(0, '127.0.0.1');
  return consul;
}

/** Polls `probe` until `accept` holds; a timeout reports the last value seen. */
async function until<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
): Promise<T> {
  return waitFor(
    what,
    async () => {
      const value = await probe();
      if (!accept(value)) throw new Error(`last seen: ${JSON.stringify(value)}`);
      return value;
    },
    { timeoutMs: 45_000, intervalMs: 250 },
  );
}

const values = (samples: PromSample[]): number[] => samples.map((s) => s.value).sort();

describe('Prometheus discovers express-consul services through Consul and scrapes their series', () => {
  const services: ExpressConsul[] = [];
  const consul = new ConsulClient();
  let prometheus: PrometheusServer | undefined;

  const backend = uniqueService('prom-backend');
  const caller = uniqueService('prom-caller');

  beforeAll(async () => {
    // Built by scripts/prometheus.sh (CI runs it first); a cold build here takes minutes.
    prometheusBinaryPath();
    // Two metrics paths on purpose: each target must be scraped where its own meta points.
    services.push(
      await startScrapedService(backend, '/internal/metrics'),
      await startScrapedService(backend, '/internal/metrics'),
      await startScrapedService(caller, '/metrics'),
    );
    await until(
      `both ${backend} instances passing in Consul`,
      async () => (await consul.healthService(backend)).data.map(aggregateStatus),
      (statuses) => statuses.length === 2 && statuses.every((s) => s === 'passing'),
    );
    for (let i = 0; i < CALLS; i++) {
      const response = await services[2]!.fetch(`http://${backend}/hello`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  }, 900_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(services.map((s) => s.close()));
    await consul.close();
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const address = services[2]!.httpServer?.address();
    expect(address).toMatchObject({ port: expect.any(Number) });
    const response = await request(
      `http://127.0.0.1:${(address as { port: number }).port}/metrics`,
    );
    const text = await response.body.text();
    expect(text).toContain('express_consul_client_requests_total{');
    const { status, output } = promtool(['check', 'metrics'], text);
    expect({ status, output }).toEqual({ status: 0, output: '' });
  });

  it('finds every instance by Consul meta, and the client and discovery series have the right values', async () => {
    const [backendA, backendB] = services as [ExpressConsul, ExpressConsul, ExpressConsul];
    const started = Date.now();
    const alerts = readFileSync(resolve(deploy, 'alerts.yml'), 'utf8');
    prometheus = await PrometheusServer.start(shippedConfigFor(process.env.CONSUL_HTTP_ADDR!), {
      'alerts.yml': alerts,
    });
    const prom = prometheus;
    const ours = `consul_service=~"${backend}|${caller}"`;

    const up = await until(
      'all three instances discovered through Consul and scraped',
      () => prom.query(`up{job="express-consul",${ours}}`),
      (samples) => samples.length === 3 && samples.every((s) => s.value === 1),
    );
    const upAfterMs = Date.now() - started;
    expect(up.map((s) => s.metric.consul_service_id).sort()).toEqual(
      services.map((s) => s.registration.serviceId).sort(),
    );

    const requests = await until(
      `express_consul_client_requests_total = ${CALLS}`,
      () =>
        prom.query(
          `express_consul_client_requests_total{consul_service="${caller}",service="${backend}"}`,
        ),
      (samples) => samples.length === 1 && samples[0]!.value === CALLS,
    );
    expect(requests[0]!.metric.outcome).toBe('success');
    // Every call was one attempt, on one of the two instances, labelled without clashing with the
    // `instance` label Prometheus gives the scraped target.
    const attempts = await prom.query(
      `sum by (upstream_instance) (express_consul_client_attempts_total{consul_service="${caller}",service="${backend}",outcome="success"})`,
    );
    expect(attempts.map((s) => s.metric.upstream_instance!.split('/')[1]).sort()).toEqual(
      [backendA, backendB].map((s) => s.registration.serviceId).sort(),
    );
    expect(attempts.reduce((sum, s) => sum + s.value, 0)).toBe(CALLS);
    expect(
      values(
        await prom.query(
          `express_consul_discovery_instances{consul_service="${caller}",service="${backend}"}`,
        ),
      ),
    ).toEqual([0, 0, 2]);
    expect(
      (
        await prom.query(
          `express_consul_discovery_instances{consul_service="${caller}",service="${backend}",state="healthy"}`,
        )
      ).map((s) => s.value),
    ).toEqual([2]);
    expect(
      values(await prom.query(`express_consul_discovery_staleness_seconds{service="${backend}"}`)),
    ).toEqual([0]);
    // Each backend instance reports its own registration, from its own meta path.
    expect(
      values(
        await prom.query(
          `express_consul_registration_state{consul_service="${backend}",state="registered"}`,
        ),
      ),
    ).toEqual([1, 1]);

    // The shipped alert rules load into Prometheus 3 and evaluate; none fires on a healthy fleet.
    const rules = await until(
      'the shipped alert rules evaluated',
      async () =>
        (
          await prom.api<{
            groups: { rules: { name: string; health: string; state: string }[] }[];
          }>('rules')
        ).groups.flatMap((g) => g.rules),
      (list) => list.length === 6 && list.every((r) => r.health === 'ok'),
    );
    expect(rules.map((r) => r.state)).toEqual(Array(6).fill('inactive'));
    const seriesAfterMs = Date.now() - started;

    // Prometheus follows Consul: a deregistered instance stops being a target, and the caller's
    // gauge of healthy instances drops to 1.
    const goneId = backendA.registration.serviceId;
    await backendA.close();
    await until(
      `Prometheus dropping ${goneId} and the healthy gauge at 1`,
      async () => ({
        targets: (
          await prom.api<{ activeTargets: { labels: Record<string, string> }[] }>(
            'targets?state=active',
          )
        ).activeTargets
          .filter((t) => t.labels.consul_service === backend)
          .map((t) => t.labels.consul_service_id),
        healthy: values(
          await prom.query(
            `express_consul_discovery_instances{consul_service="${caller}",service="${backend}",state="healthy"}`,
          ),
        ),
      }),
      ({ targets, healthy }) =>
        targets.length === 1 && targets[0] === backendB.registration.serviceId && healthy[0] === 1,
    );
    process.stdout.write(
      `prometheus measured: 3 targets up ${upAfterMs} ms after start, all series right after ${seriesAfterMs} ms\n`,
    );
  }, 240_000);
});

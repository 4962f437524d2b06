import express from 'express';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { expressConsul } from '../../src';
import type { AdapterStatus, ExpressConsul } from '../../src';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

describe('statusHandler(): the admin view of what the balancers see', () => {
  const instances: TestInstance[] = [];
  let gateway: ExpressConsul | undefined;

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(instances.map((i) => i.close()));
  });

  it('lists each called service with its instances, health, weights, ejection and budget, and no token', async () => {
    const name = uniqueService('admin');
    instances.push(
      await startInstance(name, { weights: { passing: 3, warning: 1 } }),
      await startInstance(name),
    );
    const canary = 'canary-token-5f0c9b1e-never-shown';
    const app = express();
    gateway = expressConsul(app, {
      service: { name: uniqueService('admin-gw'), check: { intervalMs: 1_000 } },
      consul: { token: canary },
      metrics: { registry: new Registry() },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
      discovery: {
        client: { balancer: 'least-request', balancerOptions: { peakEwma: { decayMs: 10_000 } } },
      },
    });
    app.get('/admin/consul', gateway.statusHandler());
    const server = await gateway.listen(0, '127.0.0.1');
    const port = (server.address() as { port: number }).port;
    const client = gateway.service(name);
    await waitFor(
      'both instances discovered',
      () => (client.instances().length === 2 ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );
    for (let i = 0; i < 20; i++) {
      const response = await client.request({ path: '/hello' });
      await response.body.dump();
    }

    const answer = await request(`http://127.0.0.1:${port}/admin/consul`);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const text = await answer.body.text();
    expect(text).not.toContain(canary);
    const status = JSON.parse(text) as AdapterStatus;
    expect(status.service).toMatchObject({
      id: gateway.registration.serviceId,
      state: 'running',
      registration: 'registered',
    });
    const upstream = status.upstreams.find((u) => u.service === name)!;
    expect(upstream).toMatchObject({
      ready: true,
      stalenessMs: 0,
      balancer: 'least-request',
      ejected: 0,
    });
    expect(upstream.retryBudget.requests).toBe(20);
    expect(upstream.instances.map((i) => i.serviceId).sort()).toEqual(
      instances.map((i) => i.id).sort(),
    );
    const heavy = upstream.instances.find((i) => i.serviceId === instances[0]!.id)!;
    expect(heavy).toMatchObject({
      health: 'passing',
      weight: 3,
      inFlight: 0,
      ejectedForMs: 0,
      port: instances[0]!.port,
    });
    expect(heavy.id).toBe(`${heavy.node}/${heavy.serviceId}`);
    // Peak EWMA keeps an estimate per instance once answers came back.
    expect(
      upstream.instances.every((i) => typeof i.latencyMs === 'number' && i.latencyMs > 0),
    ).toBe(true);
  });
});

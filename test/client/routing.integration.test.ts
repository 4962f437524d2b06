import { Readable } from 'node:stream';
import express from 'express';
import { Registry } from 'prom-client';
import {
  createDiscovery,
  expressConsul,
  NoHealthyInstancesError,
  RequestTimeoutError,
  RetriesExhaustedError,
  type Discovery,
} from '../../src';
import { mulberry32 } from '../support/seeded-random';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

describe('discovery and routing against a real Consul agent', () => {
  const instances: TestInstance[] = [];
  const discoveries: Discovery[] = [];

  afterEach(async () => {
    await Promise.all(discoveries.splice(0).map((d) => d.close()));
    await Promise.all(instances.splice(0).map((i) => i.close()));
  });

  async function fleet(name: string, count: number, weights?: number[]): Promise<TestInstance[]> {
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startInstance(name, weights ? { weights: { passing: weights[i]!, warning: 1 } } : {}),
      ),
    );
    instances.push(...started);
    return started;
  }

  function discovery(options: Parameters<typeof createDiscovery>[0] = {}): Discovery {
    const d = createDiscovery({ metrics: { registry: new Registry() }, ...options });
    discoveries.push(d);
    return d;
  }

  async function untilHealthy(d: Discovery, name: string, count: number): Promise<void> {
    const client = d.service(name);
    await waitFor(
      `${count} healthy ${name} instances`,
      () => (client.instances().length === count ? true : undefined),
      { timeoutMs: 10_000 },
    );
  }

  it('spreads 300 requests over three instances within ±10% of even with round robin', async () => {
    const name = uniqueService('rr');
    const fleetOf3 = await fleet(name, 3);
    const d = discovery();
    await untilHealthy(d, name, 3);
    for (let i = 0; i < 300; i++) {
      const response = await d.service(name).request({ path: '/hello' });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    }
    const counts = fleetOf3.map((instance) => instance.hits.length);
    process.stdout.write(`round robin over 3 instances: ${counts.join(' / ')}\n`);
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(90);
      expect(count).toBeLessThanOrEqual(110);
    }
  });

  it('follows Consul weights with the weighted balancer', async () => {
    const name = uniqueService('weighted');
    const weights = [1, 2, 3];
    const fleetOf3 = await fleet(name, 3, weights);
    const d = discovery({
      services: { [name]: { balancer: 'weighted', balancerOptions: { random: mulberry32(7) } } },
    });
    await untilHealthy(d, name, 3);
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const response = await d.service(name).request({ path: '/hello' });
      await response.body.dump();
    }
    const counts = fleetOf3.map((instance) => instance.hits.length);
    process.stdout.write(`weighted 1:2:3 over ${total} requests: ${counts.join(' / ')}\n`);
    counts.forEach((count, i) => {
      const expected = (total * weights[i]!) / 6;
      expect(Math.abs(count - expected)).toBeLessThanOrEqual(expected * 0.15);
    });
  });

  it('sends nothing to an instance later than 1 s after its deregistration', async () => {
    const name = uniqueService('dereg');
    const [stays, leaves] = await fleet(name, 2);
    const d = discovery();
    await untilHealthy(d, name, 2);
    let deregisteredAt = 0;
    let failures = 0;
    // Calls go on until 1.5 s after the deregistration, however long the first 50 took.
    const giveUpAt = Date.now() + 10_000;
    let sent = 0;
    while (
      sent < 50_000 &&
      Date.now() < giveUpAt &&
      (deregisteredAt === 0 || Date.now() < deregisteredAt + 1_500)
    ) {
      sent += 1;
      if (deregisteredAt === 0 && sent === 50) {
        deregisteredAt = Date.now();
        void leaves!.adapter.registration.deregister();
      }
      const response = await d
        .service(name)
        .request({ path: '/hello' })
        .catch(() => undefined);
      if (!response || response.statusCode !== 200) failures += 1;
      await response?.body.dump();
    }
    const lastHitAfterMs = Math.max(...leaves!.hits) - deregisteredAt;
    process.stdout.write(
      `last request reached the deregistered instance ${lastHitAfterMs} ms after deregistration\n`,
    );
    expect(deregisteredAt).toBeGreaterThan(0);
    expect(lastHitAfterMs).toBeLessThan(1_000);
    expect(stays!.hits.filter((t) => t > deregisteredAt + 1_000).length).toBeGreaterThan(0);
    expect(failures).toBe(0);
  });

  it('keeps the attempts within the retry budget when every instance answers 503, and fails with a typed error quickly', async () => {
    const name = uniqueService('all503');
    const fleetOf3 = await fleet(name, 3);
    const budget = { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 };
    const d = discovery({ retryBudget: budget, client: { maxAttempts: 3 } });
    await untilHealthy(d, name, 3);
    for (const instance of fleetOf3) instance.setStatus(503);
    const calls = 100;
    let slowest = 0;
    for (let i = 0; i < calls; i++) {
      const started = Date.now();
      const error = await d
        .service(name)
        .request({ path: '/hello' })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      slowest = Math.max(slowest, Date.now() - started);
      expect(error).toBeInstanceOf(RetriesExhaustedError);
      expect((error as RetriesExhaustedError).lastStatus).toBe(503);
    }
    const attempts = fleetOf3.reduce((sum, instance) => sum + instance.hits.length, 0);
    const allowed =
      calls + (budget.minRetriesPerSecond * budget.windowMs) / 1000 + budget.ratio * calls;
    process.stdout.write(
      `all-503: ${attempts} attempts for ${calls} calls (budget allows ${allowed}; without it ${calls * 3}); slowest call ${slowest} ms\n`,
    );
    expect(attempts).toBeGreaterThan(calls);
    expect(attempts).toBeLessThanOrEqual(allowed);
    expect(slowest).toBeLessThan(1_000);
    expect(d.service(name).retryBudget.exhausted).toBeGreaterThan(0);
  });

  it('retries a POST only with an idempotency key, and never one with a streamed body', async () => {
    const name = uniqueService('post');
    // Two instances sharing one script: the status of each arriving request is decided by
    // `answer`, whichever instance it lands on, so the test never depends on where round robin starts.
    const hits: { instance: string; method: string; key: string | undefined }[] = [];
    let answer: (hitIndex: number) => number = () => 503;
    const adapters = [0, 1].map(() => {
      const app = express();
      const adapter = expressConsul(app, {
        service: { name, check: { intervalMs: 1_000 } },
        metrics: false,
        shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
      });
      app.all('/hello', (req, res) => {
        req.resume();
        const key = req.headers['idempotency-key'];
        hits.push({
          instance: adapter.registration.serviceId,
          method: req.method,
          key: typeof key === 'string' ? key : undefined,
        });
        res.status(answer(hits.length - 1)).end();
      });
      return adapter;
    });
    try {
      await Promise.all(adapters.map((adapter) => adapter.listen(0, '127.0.0.1')));
      const d = discovery();
      await untilHealthy(d, name, 2);
      const client = d.service(name);

      // A plain POST is not idempotent: the 503 comes back as is, after one attempt.
      answer = () => 503;
      const plain = await client.request({ method: 'POST', path: '/hello', body: 'x' });
      await plain.body.dump();
      expect(plain.statusCode).toBe(503);
      expect(plain.attempts).toBe(1);
      expect(hits).toHaveLength(1);

      // With an idempotency key the server deduplicates, so the POST is retried on the other
      // instance: the first attempt (wherever it lands) gets 503, the retry gets 200.
      const firstKeyed = hits.length;
      answer = (hitIndex) => (hitIndex === firstKeyed ? 503 : 200);
      const keyed = await client.request({
        method: 'POST',
        path: '/hello',
        body: 'x',
        idempotencyKey: 'order-7',
      });
      await keyed.body.dump();
      const keyedHits = hits.slice(firstKeyed);
      expect(keyed.statusCode).toBe(200);
      expect(keyed.attempts).toBe(2);
      expect(keyedHits).toHaveLength(2);
      expect(keyedHits.map((hit) => hit.method)).toEqual(['POST', 'POST']);
      expect(keyedHits.map((hit) => hit.key)).toEqual(['order-7', 'order-7']);
      expect(keyedHits[1]!.instance).not.toBe(keyedHits[0]!.instance);
      expect(keyed.instance.serviceId).toBe(keyedHits[1]!.instance);

      // A streamed body cannot be replayed: never retried, whatever the method.
      answer = () => 503;
      const before = hits.length;
      const streamed = await client.request({
        method: 'PUT',
        path: '/hello',
        body: Readable.from([Buffer.from('chunk')]),
      });
      await streamed.body.dump();
      expect(streamed.statusCode).toBe(503);
      expect(streamed.attempts).toBe(1);
      expect(hits.length - before).toBe(1);
    } finally {
      await Promise.all(adapters.map((adapter) => adapter.close()));
    }
  });

  it('waits for Retry-After before retrying a 429 elsewhere', async () => {
    const name = uniqueService('ratelimited');
    const app = express();
    let hits = 0;
    app.get('/limited', (_req, res) => {
      hits += 1;
      if (hits === 1) res.status(429).setHeader('retry-after', '1').end();
      else res.status(200).end('ok');
    });
    const adapter = expressConsul(app, {
      service: { name, check: { intervalMs: 1_000 } },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    try {
      await adapter.listen(0, '127.0.0.1');
      const d = discovery({ client: { maxRetryAfterMs: 2_000 } });
      await untilHealthy(d, name, 1);
      const started = Date.now();
      const response = await d.service(name).request({ path: '/limited' });
      const tookMs = Date.now() - started;
      expect(response.statusCode).toBe(200);
      expect(response.attempts).toBe(2);
      expect(await response.body.text()).toBe('ok');
      expect(tookMs).toBeGreaterThanOrEqual(950);
    } finally {
      await adapter.close();
    }
  });

  it('moves on to another instance after a per-try timeout, and stops at the overall deadline', async () => {
    const name = uniqueService('slow');
    const [slow, fast] = (await fleet(name, 2)) as [TestInstance, TestInstance];
    const d = discovery();
    await untilHealthy(d, name, 2);
    slow.setDelay(3_000);
    let attempts = 0;
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const response = await d.service(name).request({ path: '/hello', timeoutMs: 300 });
      expect(response.statusCode).toBe(200);
      expect(response.instance.serviceId).toBe(fast.id);
      expect(Date.now() - started).toBeLessThan(1_500);
      attempts += response.attempts;
      await response.body.dump();
    }
    // Round robin sends at least one of the two calls to the slow instance first; every such try
    // timed out and cost exactly one extra attempt on the fast one.
    expect(slow.hits.length).toBeGreaterThanOrEqual(1);
    expect(attempts).toBe(2 + slow.hits.length);
    expect(fast.hits).toHaveLength(2);

    fast.setDelay(3_000);
    const started = Date.now();
    const error = await d
      .service(name)
      .request({ path: '/hello', timeoutMs: 300, deadlineMs: 800 })
      .catch((e: unknown) => e);
    const tookMs = Date.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).timeoutMs).toBe(800);
    expect(tookMs).toBeGreaterThanOrEqual(750);
    expect(tookMs).toBeLessThan(1_500);
  });

  it('fails fast with NoHealthyInstancesError for a service with no instance', async () => {
    const name = uniqueService('nobody');
    const d = discovery();
    const client = d.service(name);
    await client.ready();
    // An instance starts right after the call: a client that waited for one (within its long
    // deadline) would be served by it; failing fast means the call rejects without waiting.
    const call = client.request({ path: '/hello', timeoutMs: 20_000, deadlineMs: 20_000 });
    const outcome = call.then(
      () => 'served',
      (error: unknown) => error,
    );
    await fleet(name, 1);
    expect(await outcome).toBeInstanceOf(NoHealthyInstancesError);
    // The same call succeeds once discovery sees the instance: the error was about absence only.
    await untilHealthy(d, name, 1);
    const response = await client.request({ path: '/hello' });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
  });

  it('answers fetch() with a WHATWG Response from the named service', async () => {
    const name = uniqueService('fetch');
    const [only] = await fleet(name, 1);
    const d = discovery();
    await untilHealthy(d, name, 1);
    const response = await d.fetch(`http://${name}/hello`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-served-by')).toBe(d.service(name).instances()[0]!.id);
    expect(d.service(name).instances()[0]!.serviceId).toBe(only!.id);
    expect(await response.json()).toEqual({ id: only!.id });
  });
});

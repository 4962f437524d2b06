// ServiceClient against real HTTP(S) servers on loopback; discovery answers come from a scripted
// health source, so each test sets exactly the instance list it needs.
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Discovery } from '../../src/client/discovery';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import type { DiscoveryOptions } from '../../src/client/discovery-options';
import type { HealthServiceEntry, HealthServiceQuery } from '../../src/consul/consul-types';
import type { CallOptions, ConsulQueryResult } from '../../src/consul/consul-client';
import type { ConsulClient } from '../../src/consul/consul-client';
import { RetriesExhaustedError, UpstreamError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import { healthEntry, ScriptedHealthSource } from '../watch/fake-health-source';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Upstream {
  readonly port: number;
  readonly hits: number[];
  handler: Handler;
}

const servers: Server[] = [];
const discoveries: Discovery[] = [];

afterEach(async () => {
  await Promise.all(discoveries.splice(0).map((d) => d.close()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function upstream(handler: Handler = (_q, r) => r.end('ok')): Promise<Upstream> {
  const state = { hits: [] as number[], handler, port: 0 };
  state.port = await listen(
    createServer((request, response) => {
      state.hits.push(performance.now());
      state.handler(request, response);
    }),
  );
  return state;
}

/** A health entry for service `name` with id `id` on `node`, at 127.0.0.1:port. */
function entry(
  name: string,
  id: string,
  port: number,
  node = 'node-1',
  meta: Record<string, string> = {},
): HealthServiceEntry {
  const base = healthEntry(id, { service: name, port, meta });
  return { ...base, Node: { Node: node, Address: '127.0.0.1' } };
}

/**
 * Consul as the watcher sees it, reduced to fixed lists: the first query of a service answers at
 * once with its list, later ones block like an unchanged blocking query until aborted.
 */
class FixedHealthSource extends ScriptedHealthSource {
  constructor(private readonly entries: Record<string, HealthServiceEntry[]>) {
    super();
  }

  override healthService(
    service: string,
    query: HealthServiceQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<HealthServiceEntry[]>> {
    const answer = this.entries[service];
    if (answer !== undefined && !query.index) {
      return Promise.resolve({
        data: answer,
        meta: { index: 10, knownLeader: true, lastContactMs: 0, cache: undefined },
      });
    }
    return super.healthService(service, query, options);
  }
}

/** A Discovery whose Consul answers with `entries` for every service. */
function discovery(
  entries: Record<string, HealthServiceEntry[]>,
  options: DiscoveryOptions = {},
  metrics?: ExpressConsulMetrics,
): Discovery {
  const source = new FixedHealthSource(entries);
  const d = new Discovery(
    source as unknown as ConsulClient,
    resolveDiscoveryOptions(options),
    metrics,
    silentLogger,
  );
  discoveries.push(d);
  return d;
}

describe('ServiceClient: one long-lived AbortSignal shared by many calls', () => {
  it('carries one listener of ours however many calls share it, and no warning', async () => {
    const up = await upstream();
    const d = discovery({ api: [entry('api', 'a', up.port)] });
    const controller = new AbortController();
    const client = d.service('api');
    let most = 0;
    const sample = (): void => {
      most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
    };
    // The first batch starts before discovery's first answer: those calls wait for it together.
    for (let batch = 0; batch < 20; batch++) {
      const calls = Array.from({ length: 32 }, async () => {
        const response = await client.request({ path: '/', signal: controller.signal });
        await response.body.text();
      });
      sample(); // while every call of the batch is under way
      await Promise.all(calls);
      sample();
    }
    // 640 calls, 32 at a time, and the app's signal carries one listener of ours: no growth per
    // call, and never the 11 that make Node print MaxListenersExceededWarning (which jest's
    // sandbox hides from a test's own process.on('warning'); `npm run bench:signal` watches it).
    expect(most).toBe(1);
  });

  it('still aborts an in-flight call through that signal', async () => {
    const up = await upstream(() => undefined); // never answers
    const d = discovery({ api: [entry('api', 'a', up.port)] });
    const controller = new AbortController();
    const call = d.service('api').request({ path: '/', signal: controller.signal });
    while (up.hits.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortedError' });
  });
});

describe('ServiceClient: instance identity is node + service id', () => {
  it('retries on the other node when both instances share a service id, and ejects the bad one', async () => {
    const bad = await upstream((_q, r) => r.writeHead(503).end());
    const good = await upstream();
    const d = discovery(
      { pay: [entry('pay', 'pay', bad.port, 'node-a'), entry('pay', 'pay', good.port, 'node-b')] },
      {
        client: {
          retryBackoff: { baseMs: 0 },
          outlierDetection: { consecutiveFailures: 3, maxEjectionPercent: 50 },
        },
      },
    );
    const client = d.service('pay');
    await client.ready();
    expect(new Set(client.instances().map((i) => i.id))).toEqual(
      new Set(['node-a/pay', 'node-b/pay']),
    );
    for (let i = 0; i < 20; i++) {
      const response = await client.request({ path: '/' });
      expect(response.statusCode).toBe(200);
      expect(response.instance.node).toBe('node-b');
      await response.body.dump();
    }
    expect(client.ejectedCount).toBe(1);
    // Once ejected, the bad instance gets nothing: it saw at most the ejection threshold.
    expect(bad.hits.length).toBeLessThanOrEqual(3);
  });
});

describe('ServiceClient: least-request counts a call until its body ends, with its outcome', () => {
  it('keeps traffic away from an instance that fails fast', async () => {
    const failing = await upstream((_q, r) => r.writeHead(503).end());
    const healthy = await upstream((_q, r) => setTimeout(() => r.end('ok'), 5));
    const d = discovery(
      { lr: [entry('lr', 'fails', failing.port), entry('lr', 'works', healthy.port)] },
      { client: { balancer: 'least-request', maxAttempts: 1, outlierDetection: false } },
    );
    const client = d.service('lr');
    for (let i = 0; i < 100; i++) {
      await client.request({ path: '/' }).then(
        (response) => response.body.dump(),
        (error: unknown) => expect(error).toBeInstanceOf(RetriesExhaustedError),
      );
    }
    process.stdout.write(
      `least-request, one instance failing fast: ${failing.hits.length} / ${healthy.hits.length}\n`,
    );
    // Without the failure's weight the two tie on in-flight count and split the calls evenly.
    expect(failing.hits.length).toBeLessThan(20);
  });

  it('counts a request whose body is still being read as in flight', async () => {
    let release: (() => void) | undefined;
    const streaming = await upstream((_q, r) => {
      r.writeHead(200);
      r.write('first');
      release = () => r.end('last');
    });
    const other = await upstream();
    const d = discovery(
      { lr2: [entry('lr2', 'streaming', streaming.port), entry('lr2', 'other', other.port)] },
      { client: { balancer: 'least-request', outlierDetection: false } },
    );
    const client = d.service('lr2');
    // Hold one body open on each instance, then one more on `streaming`'s rival.
    let open: Awaited<ReturnType<typeof client.request>> | undefined;
    while (open === undefined) {
      const response = await client.request({ path: '/' });
      if (response.instance.serviceId === 'streaming') open = response;
      else await response.body.dump();
    }
    // While its body is unread, `streaming` has one in flight and `other` none: every new call
    // goes to `other`.
    const before = other.hits.length;
    for (let i = 0; i < 10; i++) {
      const response = await client.request({ path: '/' });
      expect(response.instance.serviceId).toBe('other');
      await response.body.dump();
    }
    expect(other.hits.length - before).toBe(10);
    release!();
    await open.body.text();
  });
});

describe('ServiceClient: short per-try timeouts', () => {
  it('gives up on a silent instance at its per-try timeout, not at the next tick of a coarse timer', async () => {
    const silent = await upstream(() => undefined);
    const answers = await upstream();
    const d = discovery(
      { quiet: [entry('quiet', 'silent', silent.port), entry('quiet', 'answers', answers.port)] },
      { client: { timeoutMs: 150, retryBackoff: { baseMs: 0 }, outlierDetection: false } },
    );
    const client = d.service('quiet');
    let retried = 0;
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const response = await client.request({ path: '/' });
      await response.body.dump();
      expect(response.instance.serviceId).toBe('answers');
      if (response.attempts === 2) {
        retried += 1;
        // undici's own headers timeout ticks every ~0.5 s: with it alone this takes 0.5-1 s.
        expect(performance.now() - started).toBeLessThan(450);
      }
    }
    expect(retried).toBeGreaterThan(0);
  });
});

describe('ServiceClient: retries', () => {
  it('waits a jittered backoff between attempts', async () => {
    const first = await upstream((_q, r) => r.writeHead(503).end());
    const second = await upstream((_q, r) => r.writeHead(503).end());
    const d = discovery(
      { b: [entry('b', 'one', first.port), entry('b', 'two', second.port)] },
      { client: { maxAttempts: 2, retryBackoff: { baseMs: 200, maxMs: 200 } } },
    );
    await expect(d.service('b').request({ path: '/' })).rejects.toBeInstanceOf(
      RetriesExhaustedError,
    );
    const [a, b] = [...first.hits, ...second.hits].sort((x, y) => x - y);
    // Equal jitter in [base/2, base]: at least 100 ms between the two attempts.
    expect(b! - a!).toBeGreaterThanOrEqual(100);
  });

  it('keeps a retry budget per called service, so one failing dependency cannot spend the others’', async () => {
    const failing = await upstream((_q, r) => r.writeHead(503).end());
    const flaky = await upstream((_q, r) => r.writeHead(503).end());
    const fine = await upstream();
    const d = discovery(
      {
        down: [entry('down', 'd1', failing.port)],
        flaky: [entry('flaky', 'f1', flaky.port), entry('flaky', 'f2', fine.port)],
      },
      {
        retryBudget: { ratio: 0, minRetriesPerSecond: 0.5, windowMs: 10_000 },
        client: { retryBackoff: { baseMs: 0 }, outlierDetection: false },
      },
    );
    // The failing dependency spends its 5 retries, and then some.
    for (let i = 0; i < 20; i++) {
      await d
        .service('down')
        .request({ path: '/' })
        .catch(() => undefined);
    }
    expect(d.service('down').retryBudget.exhausted).toBeGreaterThan(0);
    // `flaky` still has its own: its calls that hit the 503 instance are retried on the other.
    for (let i = 0; i < 4; i++) {
      const response = await d.service('flaky').request({ path: '/' });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    }
    expect(flaky.hits.length).toBeGreaterThan(0);
  });

  it('shares one budget between the services of a retryBudgetGroup', async () => {
    const failing = await upstream((_q, r) => r.writeHead(503).end());
    const d = discovery(
      { g1: [entry('g1', 'x', failing.port)], g2: [entry('g2', 'y', failing.port)] },
      {
        retryBudget: { ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 },
        client: { retryBudgetGroup: 'shared', retryBackoff: { baseMs: 0 } },
      },
    );
    await d
      .service('g1')
      .request({ path: '/' })
      .catch(() => undefined);
    expect(d.service('g2').retryBudget).toBe(d.service('g1').retryBudget);
    expect(d.service('g2').retryBudget.retries).toBe(1);
  });

  it('surfaces a reset of a non-idempotent request as a typed error, never retried', async () => {
    const resets = await upstream((request) => request.socket.destroy());
    const other = await upstream();
    const d = discovery(
      { r: [entry('r', 'resets', resets.port), entry('r', 'other', other.port)] },
      { client: { balancer: 'round-robin', outlierDetection: false } },
    );
    let error: unknown;
    while (error === undefined) {
      await d
        .service('r')
        .request({ method: 'POST', path: '/', body: 'x' })
        .then(
          (response) => response.body.dump(),
          (e: unknown) => {
            error = e;
          },
        );
    }
    expect(error).toBeInstanceOf(UpstreamError);
    expect(resets.hits.length).toBe(1);
  });
});

describe('ServiceClient: options keyed by service name, whatever its case', () => {
  it('applies per-service options keyed `Payments` to fetch("http://Payments/")', async () => {
    const failing = await upstream((_q, r) => r.writeHead(503).end());
    const d = discovery(
      { payments: [entry('payments', 'p1', failing.port), entry('payments', 'p2', failing.port)] },
      { services: { Payments: { maxAttempts: 1 } } },
    );
    await expect(d.fetch('http://Payments/')).rejects.toMatchObject({
      name: 'RetriesExhaustedError',
      attempts: 1,
      lastStatus: 503,
    });
    expect(failing.hits).toHaveLength(1);
  });
});

describe('ServiceClient: HTTPS upstreams', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'express-consul-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=payments.internal',
        '-addext',
        'subjectAltName=DNS:payments.internal,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function httpsUpstream(): Promise<number> {
    return listen(
      createHttpsServer({ cert, key }, (request, response) =>
        response.end(`tls ${request.socket.constructor.name}`),
      ),
    );
  }

  it('calls an instance whose Consul meta says scheme=https, trusting the given CA', async () => {
    const port = await httpsUpstream();
    const d = discovery(
      { secure: [entry('secure', 's1', port, 'node-1', { scheme: 'https' })] },
      { client: { tls: { ca: cert } } },
    );
    const response = await d.service('secure').request({ path: '/' });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('tls TLSSocket');
  });

  it('uses https for every instance with scheme: "https", and refuses an unknown CA', async () => {
    const port = await httpsUpstream();
    const d = discovery(
      { s2: [entry('s2', 's2', port)] },
      { client: { scheme: 'https', maxAttempts: 1 } },
    );
    // Self-signed and not trusted: a TLS failure, never a silent fall back to plain http.
    await expect(d.service('s2').request({ path: '/' })).rejects.toBeInstanceOf(UpstreamError);
    const trusting = discovery(
      { s2: [entry('s2', 's2', port)] },
      { client: { scheme: 'https', tls: { ca: cert, serverName: 'payments.internal' } } },
    );
    const response = await trusting.service('s2').request({ path: '/' });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
  });
});

describe('ServiceClient: metrics of departed instances', () => {
  it('removes the instance series when the instance leaves', async () => {
    const up = await upstream();
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const d = discovery({ m: [entry('m', 'm1', up.port)] }, {}, metrics);
    const response = await d.service('m').request({ path: '/' });
    await response.body.dump();
    const series = async (): Promise<string[]> =>
      (
        (await registry.getSingleMetric('express_consul_client_attempts_total')?.get())?.values ??
        []
      )
        .map((v) => String(v.labels.upstream_instance))
        .filter((instance) => instance !== 'undefined');
    expect(await series()).toEqual(['node-1/m1']);
    await d.close();
    expect(await series()).toEqual([]);
  });
});

// The watcher against real Consul agents: the run's shared dev agent (CONSUL_HTTP_ADDR), plus a
// private one for the outage case. Everything listens on 127.0.0.1 only.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsulClient } from '../../src/consul/consul-client';
import type { AgentServiceRegistration, HealthServiceQuery } from '../../src/consul/consul-types';
import { ServiceWatcher } from '../../src/watch/service-watcher';
import type {
  HealthSource,
  ServiceChangeEvent,
  ServiceWatcherOptions,
  WatchErrorEvent,
} from '../../src/watch/service-watcher';
import { ConsulResponseError, ConsulUnavailableError } from '../../src/errors';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { EventQueue } from './fake-health-source';

/** The real client, with a count of the queries in flight so tests can tell when one blocks. */
class ObservedSource implements HealthSource {
  inFlight = 0;
  lastQuery: HealthServiceQuery | undefined;

  constructor(private readonly client: ConsulClient) {}

  healthService: HealthSource['healthService'] = async (name, query, options) => {
    this.inFlight += 1;
    this.lastQuery = query;
    try {
      return await this.client.healthService(name, query, options);
    } finally {
      this.inFlight -= 1;
    }
  };
}

const client = new ConsulClient();
const registered: { client: ConsulClient; id: string }[] = [];
const watchers: ServiceWatcher[] = [];
const measurements: string[] = [];
let checkServer: Server;
let checkOrigin: string;
/** Status the check server answers per path; Consul maps 2xx to passing, 429 to warning. */
const checkStatus = new Map<string, number>();
let names = 0;

const uniqueName = (what: string): string =>
  `it-discovery-${what}-${process.pid}-${Date.now().toString(36)}-${++names}`;

async function register(
  registration: AgentServiceRegistration & { ID: string },
  via: ConsulClient = client,
): Promise<void> {
  await via.registerService({ Address: '127.0.0.1', ...registration });
  if (!registered.some((r) => r.client === via && r.id === registration.ID)) {
    registered.push({ client: via, id: registration.ID });
  }
}

function httpCheck(path: string, status: number, initial: 'passing' | 'warning' | 'critical') {
  checkStatus.set(path, status);
  return { HTTP: `${checkOrigin}${path}`, Interval: '1s', Timeout: '1s', Status: initial };
}

interface Watch {
  watcher: ServiceWatcher;
  /** This watcher's own view of the client, so in-flight counts are its own. */
  source: ObservedSource;
  changes: EventQueue<ServiceChangeEvent>;
  errors: EventQueue<WatchErrorEvent>;
}

function watch(
  name: string,
  options: ServiceWatcherOptions = {},
  via: ConsulClient = client,
): Watch {
  const source = new ObservedSource(via);
  const watcher = new ServiceWatcher(source, name, options);
  watchers.push(watcher);
  const changes = new EventQueue<ServiceChangeEvent>();
  const errors = new EventQueue<WatchErrorEvent>();
  watcher.onChange(changes.push);
  watcher.onError(errors.push);
  watcher.start();
  return { watcher, source, changes, errors };
}

const ids = (watcher: ServiceWatcher): string[] => watcher.instances().map((i) => i.serviceId);

async function waitForIds(watcher: ServiceWatcher, expected: string[], timeoutMs = 10_000) {
  const want = [...expected].sort();
  await waitFor(
    `watcher of ${watcher.service} to list ${want.join(', ') || 'nothing'}`,
    () => (JSON.stringify(ids(watcher)) === JSON.stringify(want) ? true : undefined),
    { timeoutMs, intervalMs: 20 },
  );
}

/** Waits until the watcher's blocking query (on its current index) is parked in Consul. */
async function waitUntilBlocking({ watcher, source }: Watch) {
  await waitFor(
    `a blocking query for ${watcher.service}`,
    () => {
      const index = watcher.status().index;
      return source.inFlight === 1 && index > 0 && source.lastQuery?.index === index
        ? true
        : undefined;
    },
    { intervalMs: 10 },
  );
}

beforeAll(async () => {
  checkServer = createServer((request, response) => {
    response.statusCode = checkStatus.get(request.url ?? '') ?? 404;
    response.end('check');
  });
  await new Promise<void>((resolve) => checkServer.listen(0, '127.0.0.1', resolve));
  checkOrigin = `http://127.0.0.1:${(checkServer.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((watcher) => watcher.close()));
});

afterAll(async () => {
  await Promise.allSettled(registered.map(({ client: via, id }) => via.deregisterService(id)));
  await client.close();
  checkServer.closeAllConnections();
  await new Promise<void>((resolve) => checkServer.close(() => resolve()));
  if (measurements.length > 0)
    process.stdout.write(`watcher measured: ${measurements.join('; ')}\n`);
});

describe('ServiceWatcher against a real Consul agent', () => {
  it('sees both instances and announces a deregistration within 1 s', async () => {
    const name = uniqueName('dereg');
    await register({ Name: name, ID: `${name}-1`, Port: 9001 });
    await register({ Name: name, ID: `${name}-2`, Port: 9002 });
    const watched = watch(name);
    const { watcher, changes } = watched;
    await watcher.ready(AbortSignal.timeout(10_000));
    await waitForIds(watcher, [`${name}-1`, `${name}-2`]);
    expect(watcher.instances()[0]).toMatchObject({
      serviceId: `${name}-1`,
      service: name,
      address: '127.0.0.1',
      port: 9001,
      status: 'passing',
      weight: 1,
    });
    await waitUntilBlocking(watched);
    const seen = changes.seen.length;

    const started = performance.now();
    await client.deregisterService(`${name}-2`);
    // The first change after the deregistration (earlier ones may still be queued, untaken).
    let change: ServiceChangeEvent | undefined;
    while ((change = changes.seen[seen]) === undefined) await changes.next();
    const latencyMs = performance.now() - started;
    measurements.push(`deregistration -> onChange: ${latencyMs.toFixed(1)} ms`);

    expect(change.instances.map((i) => i.serviceId)).toEqual([`${name}-1`]);
    expect(change.previous.map((i) => i.serviceId)).toEqual([`${name}-1`, `${name}-2`]);
    expect(latencyMs).toBeLessThan(1_000);
    expect(watcher.status()).toMatchObject({ stale: false, consecutiveErrors: 0, indexResets: 0 });
  });

  it('drops critical instances; passingOnly false adds warning ones; health changes show', async () => {
    const name = uniqueName('health');
    await register({ Name: name, ID: `${name}-plain`, Port: 9001 });
    await register({
      Name: name,
      ID: `${name}-ok`,
      Port: 9002,
      Check: httpCheck(`/${name}/ok`, 200, 'passing'),
    });
    await register({
      Name: name,
      ID: `${name}-warn`,
      Port: 9003,
      Weights: { Passing: 10, Warning: 3 },
      Check: httpCheck(`/${name}/warn`, 429, 'warning'),
    });
    await register({
      Name: name,
      ID: `${name}-bad`,
      Port: 9004,
      Check: httpCheck(`/${name}/bad`, 500, 'critical'),
    });

    const passing = watch(name).watcher;
    const all = watch(name, { passingOnly: false }).watcher;
    await waitForIds(passing, [`${name}-ok`, `${name}-plain`]);
    await waitForIds(all, [`${name}-ok`, `${name}-plain`, `${name}-warn`]);
    expect(all.instances().find((i) => i.serviceId === `${name}-warn`)).toMatchObject({
      status: 'warning',
      weight: 3,
    });

    // Let the checks run against the check server, then make the critical one pass and fail again.
    checkStatus.set(`/${name}/bad`, 200);
    await waitForIds(passing, [`${name}-bad`, `${name}-ok`, `${name}-plain`]);
    await waitForIds(all, [`${name}-bad`, `${name}-ok`, `${name}-plain`, `${name}-warn`]);
    checkStatus.set(`/${name}/bad`, 503);
    await waitForIds(passing, [`${name}-ok`, `${name}-plain`]);
    await waitForIds(all, [`${name}-ok`, `${name}-plain`, `${name}-warn`]);
    // The warning instance stayed warning all along: its check really answers 429.
    expect(all.instances().find((i) => i.serviceId === `${name}-warn`)?.status).toBe('warning');
  });

  it('filters by tag', async () => {
    const name = uniqueName('tag');
    await register({ Name: name, ID: `${name}-blue`, Port: 9001, Tags: ['blue', 'v1'] });
    await register({ Name: name, ID: `${name}-green`, Port: 9002, Tags: ['green'] });
    const blue = watch(name, { tag: 'blue' }).watcher;
    const everyone = watch(name).watcher;
    await waitForIds(everyone, [`${name}-blue`, `${name}-green`]);
    await waitForIds(blue, [`${name}-blue`]);
    expect(blue.instances()[0]?.tags).toEqual(['blue', 'v1']);
  });

  it('filters with a Consul filter expression, and reports a bad one on every try', async () => {
    const name = uniqueName('filter');
    await register({ Name: name, ID: `${name}-v1`, Port: 9001, Meta: { version: '1' } });
    await register({ Name: name, ID: `${name}-v2`, Port: 9002, Meta: { version: '2' } });
    const v2 = watch(name, { filter: 'Service.Meta.version == "2"' }).watcher;
    await waitForIds(v2, [`${name}-v2`]);
    expect(v2.instances()[0]?.meta).toEqual({ version: '2' });

    const broken = watch(name, {
      filter: 'Service.Meta.version ==',
      backoff: { baseMs: 20, maxMs: 50 },
    });
    const first = await broken.errors.next();
    const second = await broken.errors.next();
    // Consul 1.16 answers 500 to a filter it cannot parse; the client calls it a bad request, not an outage.
    expect(first.error).toBeInstanceOf(ConsulResponseError);
    expect((first.error as ConsulResponseError).status).toBe(500);
    expect(first.error.message).toMatch(/boolean expression/);
    expect(second.consecutiveErrors).toBe(2);
    expect(broken.watcher.status()).toMatchObject({ ready: false, stale: true });
  });

  it('closes promptly while a 60 s blocking query is in flight', async () => {
    const name = uniqueName('close');
    await register({ Name: name, ID: `${name}-1`, Port: 9001 });
    const watched = watch(name, { waitMs: 60_000 });
    const { watcher, source } = watched;
    await waitForIds(watcher, [`${name}-1`]);
    await waitUntilBlocking(watched);

    const started = performance.now();
    await watcher.close();
    const closeMs = performance.now() - started;
    measurements.push(`close() with a 60 s blocking query in flight: ${closeMs.toFixed(1)} ms`);
    expect(closeMs).toBeLessThan(500);
    expect(source.inFlight).toBe(0);
  });
});

describe('ServiceWatcher through an agent outage', () => {
  let agent: StartedConsul | undefined;
  let agentClient: ConsulClient | undefined;

  afterAll(async () => {
    await agentClient?.close();
    await agent?.stop();
  });

  it('keeps the last list while the agent is down, then recovers on its own', async () => {
    agent = await startConsul({ mode: 'binary' });
    agentClient = new ConsulClient({ address: agent.address, requestTimeoutMs: 2_000 });
    const name = uniqueName('outage');
    const registerBoth = async (): Promise<void> => {
      await register({ Name: name, ID: `${name}-1`, Port: 9001 }, agentClient);
      await register({ Name: name, ID: `${name}-2`, Port: 9002 }, agentClient);
    };
    await registerBoth();
    // Raise the service's index well above what a freshly started agent will have.
    for (let revision = 0; revision < 30; revision++) {
      await register(
        { Name: name, ID: `${name}-2`, Port: 9002, Meta: { revision: String(revision) } },
        agentClient,
      );
    }
    await register({ Name: name, ID: `${name}-2`, Port: 9002 }, agentClient);

    const watched = watch(
      name,
      { waitMs: 60_000, backoff: { baseMs: 50, maxMs: 400 } },
      agentClient,
    );
    const { watcher, errors } = watched;
    await waitForIds(watcher, [`${name}-1`, `${name}-2`]);
    await waitUntilBlocking(watched);
    const before = watcher.instances();
    const indexBefore = watcher.status().index;

    await agent.kill('SIGTERM');
    const firstError = await errors.next();
    expect(firstError.error).toBeInstanceOf(ConsulUnavailableError);
    expect(watcher.instances()).toBe(before);
    const staleAt = watcher.status();
    expect(staleAt).toMatchObject({ ready: true, stale: true, index: indexBefore });
    await waitFor(
      'stalenessMs to grow',
      () => (watcher.status().stalenessMs >= staleAt.stalenessMs + 300 ? true : undefined),
      { intervalMs: 20 },
    );
    await errors.next();
    expect(watcher.instances()).toBe(before);
    expect(watcher.status().consecutiveErrors).toBeGreaterThanOrEqual(2);
    expect(watcher.status().lastError).toBeInstanceOf(ConsulUnavailableError);

    // A dev agent forgets everything on restart, so its index starts low again.
    await agent.restart();
    const restartedAt = performance.now();
    await registerBoth();
    // The agent answers a registration before its catalog lists it, and while the catalog is
    // still empty the watcher keeps the old list (not stale): neither "two ids" nor "not stale"
    // alone says the new agent's list arrived. So first the index at which the catalog lists
    // both, then the watcher at or past that index.
    const listedAt = await waitFor(
      'the restarted agent to list both',
      async () => {
        const answer = await agentClient?.healthService(name);
        return answer?.data.length === 2 ? answer.meta.index : undefined;
      },
      { intervalMs: 20 },
    );
    await waitFor(
      'the watcher to recover',
      () => {
        const status = watcher.status();
        return !status.stale && status.index >= listedAt && ids(watcher).length === 2
          ? status
          : undefined;
      },
      { intervalMs: 20 },
    );
    measurements.push(
      `outage: agent back -> watcher recovered with both instances: ${(performance.now() - restartedAt).toFixed(1)} ms`,
    );
    const { meta } = await agentClient.healthService(name);
    measurements.push(
      `outage: index before stop ${indexBefore}, after restart ${String(meta.index)}, ` +
        `index resets ${watcher.status().indexResets}`,
    );
    expect(meta.index).toBeLessThan(indexBefore);
    expect(ids(watcher)).toEqual([`${name}-1`, `${name}-2`]);
    expect(watcher.status()).toMatchObject({ stale: false, consecutiveErrors: 0, stalenessMs: 0 });
    expect(watcher.status().indexResets).toBeGreaterThanOrEqual(1);
    expect(watcher.status().index).toBeLessThan(indexBefore);

    // Back to blocking on the new agent's index: a change shows up again.
    await waitUntilBlocking(watched);
    await agentClient.deregisterService(`${name}-2`);
    await waitForIds(watcher, [`${name}-1`], 2_000);
    await watcher.close();
  }, 90_000);
});

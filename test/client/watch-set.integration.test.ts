// The bounded watch set against the run's shared Consul dev agent (CONSUL_HTTP_ADDR): URL hosts
// come from the app's callers, so each distinct host must not cost a blocking query, a socket to the
// agent and a set of metric series forever.
import { DEFAULTS } from '../../src/config/defaults';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src/client/create-discovery';
import type { Discovery } from '../../src/client/discovery';
import type { StandaloneDiscoveryOptions } from '../../src/client/create-discovery';
import {
  ConfigError,
  isExpressConsulError,
  ServiceNotAllowedError,
  TooManyServicesError,
} from '../../src/errors';
import type { WatcherRegistry } from '../../src/watch/watcher-registry';
import { ConsulClient } from '../../src/consul/consul-client';
import { startRecordingProxy } from '../../harness/recording-proxy';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

// A real collection before each heap sample, whether or not jest runs with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const agentPort = Number(new URL(process.env.CONSUL_HTTP_ADDR!).port);
const discoveries: Discovery[] = [];

afterEach(async () => {
  await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
});

function discoveryWith(options: StandaloneDiscoveryOptions): Discovery {
  const discovery = createDiscovery(options);
  discoveries.push(discovery);
  return discovery;
}

/** Live watchers of `discovery` (distinct service + query pairs). */
function watchers(discovery: Discovery): number {
  return (discovery as unknown as { registry: WatcherRegistry }).registry.size;
}

function openAgentSockets(): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter(
    (handle): handle is Socket =>
      handle instanceof Socket && !handle.destroyed && handle.remotePort === agentPort,
  );
}

/**
 * Sockets connected to the agent since this file started (the watches' blocking queries hold one
 * each). Jest runs every suite in this process: one another file left open (CI saw 10 keep-alive
 * sockets of a test proxy's HTTP agent) is not this test's, so those open at the start are left out.
 */
const before = new WeakSet<Socket>();
beforeAll(() => {
  for (const socket of openAgentSockets()) before.add(socket);
});
function agentSockets(): number {
  return openAgentSockets().filter((socket) => !before.has(socket)).length;
}

/** Sample lines of the registry's exposition (comments left out). */
async function sampleLines(registry: Registry, containing = ''): Promise<number> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#') && line.includes(containing)).length;
}

/** The code of the typed error `promise` rejects with; fails the test on success or an untyped error. */
async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isExpressConsulError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('a bounded watch set', () => {
  it('keeps watchers, agent sockets, metric series and heap bounded over 10,000 distinct unknown hosts, refuses beyond the cap and releases them when idle', async () => {
    const HOSTS = 10_000;
    const MAX_SERVICES = 50;
    // Callers in the steady phase: fewer than the cap, so each call finds an idle service to evict.
    const CALLERS = 40;
    // 20 sample lines per service that answered an empty list (14 of the duration histogram, 1
    // request counter, 1 watch update, 3 instance gauges, 1 staleness gauge), plus the refusal
    // counter and the few lines that belong to no service.
    const LINES_PER_SERVICE = 20;
    const MAX_LINES = MAX_SERVICES * LINES_PER_SERVICE + 10;
    // A leak of a watcher, client or pool per host (several KB each) would pass this many times over.
    const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
    const registry = new Registry();
    const discovery = discoveryWith({
      metrics: { registry },
      maxServices: MAX_SERVICES,
      idleTimeoutMs: 1_000,
      client: { readyTimeoutMs: 10_000 },
    });
    const prefix = `ws-unknown-${process.pid}-${Date.now().toString(36)}`;
    let next = 0;
    let maxWatchers = 0;
    let maxSockets = 0;
    let maxLines = 0;
    const run = async (count: number, concurrency: number): Promise<Map<string, number>> => {
      const end = next + count;
      const seen = new Map<string, number>();
      const worker = async (): Promise<void> => {
        while (next < end) {
          const host = `${prefix}-${next++}`;
          const code = await rejectionCode(discovery.fetch(`http://${host}/x`));
          seen.set(code, (seen.get(code) ?? 0) + 1);
          if (next % 250 === 0) {
            maxWatchers = Math.max(maxWatchers, watchers(discovery));
            maxSockets = Math.max(maxSockets, agentSockets());
            maxLines = Math.max(maxLines, await sampleLines(registry));
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return seen;
    };

    // Fewer callers than the cap: every call gets a watch, the least recently used idle one making
    // room, so thousands of services pass through a set of 50.
    await run(500, CALLERS); // warm-up: lazily compiled code and pools exist before the heap baseline
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const steady = await run(HOSTS - 500 - 200, CALLERS);
    // A burst of more callers than the cap: those finding every watched service busy are refused.
    const burst = await run(200, 200);
    maxWatchers = Math.max(maxWatchers, watchers(discovery));
    maxSockets = Math.max(maxSockets, agentSockets());
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    expect(next).toBe(HOSTS);
    // Every call failed fast with a typed error: the service does not exist, or there was no room.
    expect([...steady]).toEqual([['EXPRESS_CONSUL_NO_HEALTHY_INSTANCES', HOSTS - 700]]);
    expect([...burst.keys()].sort()).toEqual([
      'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES',
      'EXPRESS_CONSUL_TOO_MANY_SERVICES',
    ]);
    expect(burst.get('EXPRESS_CONSUL_NO_HEALTHY_INSTANCES')).toBeGreaterThanOrEqual(MAX_SERVICES);
    expect(maxWatchers).toBeLessThanOrEqual(MAX_SERVICES);
    // One blocking query per watcher, one first (non-blocking) read per caller at most, and a few
    // sockets of released watches still closing: bounded by the set and the callers, not the hosts.
    expect(maxSockets).toBeLessThanOrEqual(MAX_SERVICES + CALLERS + 5);
    expect(maxLines).toBeLessThanOrEqual(MAX_LINES);
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);

    // Nobody calls any of them any more: all are released, with their series and their sockets.
    await waitFor(
      'every idle service released',
      () => (watchers(discovery) === 0 ? true : undefined),
      {
        timeoutMs: 5_000,
      },
    );
    expect(await sampleLines(registry, prefix)).toBe(0);
    expect(discovery.status()).toEqual([]);
    // The released watches' blocking queries are gone; what is left are idle keep-alive sockets of
    // the client's pools, which the connection budget bounds whatever the number of hosts.
    expect(agentSockets()).toBeLessThanOrEqual(DEFAULTS.consul.maxConnections);
    expect(maxSockets).toBeLessThanOrEqual(DEFAULTS.consul.maxConnections);
  }, 180_000);

  it('with default options watches at most 256 services at once', async () => {
    const discovery = discoveryWith({ metrics: false, client: { readyTimeoutMs: 10_000 } });
    const prefix = `ws-default-${process.pid}-${Date.now().toString(36)}`;
    let next = 0;
    let maxWatchers = 0;
    const worker = async (): Promise<void> => {
      while (next < 400) {
        await rejectionCode(discovery.fetch(`http://${prefix}-${next++}/`));
        maxWatchers = Math.max(maxWatchers, watchers(discovery));
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    expect(maxWatchers).toBeLessThanOrEqual(256);
  }, 60_000);

  it('refuses a service beyond maxServices with a typed error naming the option, before anything reaches Consul', async () => {
    const proxy = await startRecordingProxy(process.env.CONSUL_HTTP_ADDR!);
    try {
      const name = uniqueService('ws-cap');
      const discovery = discoveryWith({
        consul: { address: proxy.address },
        metrics: false,
        maxServices: 2,
      });
      // Two pinned clients (service()) fill the set: they are never evicted to make room.
      discovery.service(`${name}-a`);
      discovery.service(`${name}-b`);
      const refused = await discovery.fetch(`http://${name}-c/`).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TooManyServicesError);
      expect(refused).toMatchObject({
        code: 'EXPRESS_CONSUL_TOO_MANY_SERVICES',
        service: `${name}-c`,
        option: 'discovery.maxServices',
        limit: 2,
      });
      expect((refused as Error).message).toContain('discovery.maxServices');
      await waitFor('both watches asked Consul', () =>
        proxy.requests.filter((r) => r.url.startsWith('/v1/health/service/')).length >= 2
          ? true
          : undefined,
      );
      expect(proxy.requests.some((r) => r.url.includes(`${name}-c`))).toBe(false);
      expect(watchers(discovery)).toBe(2);
    } finally {
      await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
      await proxy.close();
    }
  });

  it('refuses a service outside allowedServices with a typed error, before anything reaches Consul', async () => {
    const proxy = await startRecordingProxy(process.env.CONSUL_HTTP_ADDR!);
    try {
      const allowed = uniqueService('ws-allowed');
      const configured = uniqueService('ws-configured');
      const discovery = discoveryWith({
        consul: { address: proxy.address },
        metrics: false,
        allowedServices: [allowed.toUpperCase()],
        services: { [configured]: { timeoutMs: 1_000 } },
      });
      const refused = await discovery
        .fetch('http://evil-host/steal')
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ServiceNotAllowedError);
      expect(refused).toMatchObject({
        code: 'EXPRESS_CONSUL_SERVICE_NOT_ALLOWED',
        service: 'evil-host',
        option: 'discovery.allowedServices',
      });
      expect(() => discovery.service('evil-host')).toThrow(ServiceNotAllowedError);
      // Allowed ignoring case, and a service configured by name is allowed too.
      expect(await rejectionCode(discovery.fetch(`http://${allowed}/`))).toBe(
        'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES',
      );
      expect(await rejectionCode(discovery.fetch(`http://${configured}/`))).toBe(
        'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES',
      );
      expect(proxy.requests.some((r) => r.url.includes('evil-host'))).toBe(false);
      expect(watchers(discovery)).toBe(2);
    } finally {
      await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
      await proxy.close();
    }
  });

  it('refuses a host longer than a DNS name (253 characters) before anything reaches Consul', async () => {
    const proxy = await startRecordingProxy(process.env.CONSUL_HTTP_ADDR!);
    try {
      const registry = new Registry();
      const discovery = discoveryWith({
        consul: { address: proxy.address },
        metrics: { registry },
      });
      // A URL host may be 100,000 characters long; it would be a metric label value, a Consul path
      // and a map key for as long as the service is watched.
      const long = `ws-${'a'.repeat(100_000)}`;
      const refused = await discovery.fetch(`http://${long}/`).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect(refused).toMatchObject({ code: 'EXPRESS_CONSUL_INVALID_OPTION', path: 'url' });
      expect((refused as Error).message.length).toBeLessThan(300);
      expect(() => discovery.service(long.slice(0, 254))).toThrow(ConfigError);
      expect(() => discovery.service(undefined as unknown as string)).toThrow(ConfigError);
      const longest = `ws-${'b'.repeat(250)}`;
      expect(longest).toHaveLength(253);
      expect(await rejectionCode(discovery.fetch(`http://${longest}/`))).toBe(
        'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES',
      );
      expect(proxy.requests.some((r) => r.url.includes('aaaa'))).toBe(false);
      expect(watchers(discovery)).toBe(1);
    } finally {
      await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
      await proxy.close();
    }
  });

  it('releases an idle client while a slow caller still reads a body from it, and serves a call arriving meanwhile', async () => {
    const name = uniqueService('ws-slow');
    const pinned = uniqueService('ws-pinned');
    const configured = uniqueService('ws-kept');
    const upstream = await startSlowUpstream(name);
    try {
      const registry = new Registry();
      const discovery = discoveryWith({
        metrics: { registry },
        idleTimeoutMs: 300,
        services: { [configured]: {} },
      });
      const kept = discovery.service(pinned);
      await rejectionCode(discovery.fetch(`http://${configured}/`));
      const slow = await discovery.fetch(`http://${name}/slow`);
      expect(slow.status).toBe(200);
      const reader = (slow.body as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first;');
      expect(await sampleLines(registry, name)).toBeGreaterThan(0);

      // The body is still open (its pool cannot close yet), but nobody calls: released anyway.
      await waitFor('the idle client released', () =>
        discovery.status().some((s) => s.service === name) ? undefined : true,
      );
      expect(watchers(discovery)).toBe(2);
      expect(await sampleLines(registry, name)).toBe(0);
      // A call now gets a new client while the old one still waits for that body.
      const fresh = await discovery.fetch(`http://${name}/fast`);
      expect(fresh.status).toBe(200);
      expect(await fresh.text()).toBe('fast');
      // The slow caller reads the rest of its body from the released client's pool.
      upstream.finish();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toBe('last');

      // The pinned client (held by the caller) and the configured service stay; the rest goes.
      await waitFor('released again', () =>
        discovery.status().some((s) => s.service === name) ? undefined : true,
      );
      expect(discovery.service(pinned)).toBe(kept);
      expect(
        discovery
          .status()
          .map((s) => s.service)
          .sort(),
      ).toEqual([pinned, configured].sort());
      expect(watchers(discovery)).toBe(2);
    } finally {
      await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
      await upstream.close();
    }
  });

  it('releases a client whose callers threw or were aborted', async () => {
    const name = uniqueService('ws-throw');
    const upstream = await startSlowUpstream(name);
    try {
      const registry = new Registry();
      const discovery = discoveryWith({ metrics: { registry }, idleTimeoutMs: 300 });
      const codes = await Promise.all([
        rejectionCode(discovery.fetch(`http://${name}/hang`, { deadlineMs: 200 })),
        rejectionCode(discovery.fetch(`http://${name}/hang`, { signal: AbortSignal.timeout(200) })),
        rejectionCode(discovery.fetch(`http://${name}/fast`, { signal: AbortSignal.abort() })),
      ]);
      expect(codes).toEqual([
        'EXPRESS_CONSUL_REQUEST_TIMEOUT',
        'EXPRESS_CONSUL_ABORTED',
        'EXPRESS_CONSUL_ABORTED',
      ]);
      await waitFor('the idle client released', () =>
        watchers(discovery) === 0 && discovery.status().length === 0 ? true : undefined,
      );
      expect(await sampleLines(registry, name)).toBe(0);
    } finally {
      await Promise.all(discoveries.splice(0).map((discovery) => discovery.close()));
      await upstream.close();
    }
  });
});

/**
 * A loopback upstream registered in Consul (no check, so passing): `/slow` sends `first;` and holds
 * the rest until `finish()`, `/hang` never answers, anything else answers `fast`.
 */
async function startSlowUpstream(
  name: string,
): Promise<{ finish(): void; close(): Promise<void> }> {
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    request.resume();
    if (request.url === '/hang') {
      held.add(response);
      return;
    }
    if (request.url !== '/slow') {
      response.end('fast');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first;');
    held.add(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const consul = new ConsulClient();
  const id = `${name}-1`;
  await consul.registerService({ Name: name, ID: id, Address: '127.0.0.1', Port: port });
  return {
    finish() {
      for (const response of held) response.end('last');
      held.clear();
    },
    async close() {
      await consul.deregisterService(id).catch(() => undefined);
      await consul.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

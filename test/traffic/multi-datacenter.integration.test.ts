// Failover to another datacenter through a service-resolver, against two real Consul dev agents
// WAN-joined on loopback: the client reads dc1's agent only, and dc2's instances reach it through
// Consul's own cross-datacenter forwarding (`?dc=dc2`). TTL checks let the test turn dc1's
// instances critical in Consul while their servers keep answering.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';

const SERVICE = 'payments';

async function consulCall(
  agent: StartedConsul,
  method: string,
  path: string,
  body?: unknown,
): Promise<string> {
  const response = await fetch(`${agent.address}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text;
}

/** A tiny server answering every request with its own name. */
async function nameServer(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => response.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Call {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly answer: string;
}

describe('failover to another datacenter (two real WAN-joined Consul agents)', () => {
  let dc1: StartedConsul;
  let dc2: StartedConsul;
  const servers: { close(): Promise<void> }[] = [];
  const dc1Ids = ['dc1-a', 'dc1-b'];
  const dc2Ids = ['dc2-a', 'dc2-b'];
  let discovery: Discovery | undefined;

  const setChecks = async (state: 'pass' | 'fail'): Promise<void> => {
    for (const id of dc1Ids) await consulCall(dc1, 'PUT', `/v1/agent/check/${state}/check-${id}`);
  };

  beforeAll(async () => {
    dc1 = await startConsul({ mode: 'binary', datacenter: 'dc1' });
    dc2 = await startConsul({
      mode: 'binary',
      datacenter: 'dc2',
      retryJoinWan: [dc1.serfWanAddress!],
    });
    await waitFor(
      'dc1 to know dc2 over the WAN',
      async () => {
        const dcs = JSON.parse(await consulCall(dc1, 'GET', '/v1/catalog/datacenters')) as string[];
        return dcs.includes('dc1') && dcs.includes('dc2') ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const [agent, ids] of [
      [dc1, dc1Ids],
      [dc2, dc2Ids],
    ] as const) {
      for (const id of ids) {
        const server = await nameServer(id);
        servers.push(server);
        await consulCall(agent, 'PUT', '/v1/agent/service/register', {
          Name: SERVICE,
          ID: id,
          Address: '127.0.0.1',
          Port: server.port,
          Check: { CheckID: `check-${id}`, TTL: '600s', Status: 'passing' },
        });
      }
    }
    // Consul forwards ?dc=dc2 reads once it has a route to dc2's servers.
    await waitFor(
      "dc2's instances readable through dc1",
      async () => {
        const entries = JSON.parse(
          await consulCall(dc1, 'GET', `/v1/health/service/${SERVICE}?dc=dc2&passing=1`),
        ) as unknown[];
        return entries.length === dc2Ids.length ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const entry = async (body: Record<string, unknown>): Promise<void> => {
      expect((await consulCall(dc1, 'PUT', '/v1/config', body)).trim()).toBe('true');
    };
    await entry({ Kind: 'service-defaults', Name: SERVICE, Protocol: 'http' });
    await entry({
      Kind: 'service-resolver',
      Name: SERVICE,
      Failover: { '*': { Datacenters: ['dc2'] } },
    });
    discovery = createDiscovery({
      consul: { address: dc1.address },
      metrics: { registry: new Registry() },
      trafficManagement: true,
      // One attempt per call: a call sent to an instance that cannot serve it fails the test
      // rather than being rescued by a retry.
      client: { maxAttempts: 1, retryBackoff: { baseMs: 0 }, deadlineMs: 10_000 },
    });
    await waitFor(
      'the chain with its dc2 failover target, every target with instances',
      () => {
        const plan = discovery!.service(SERVICE).trafficPlan;
        if (plan === undefined) return undefined;
        const targets = [...plan.chain.targets.values()];
        if (!targets.some((t) => t.datacenter === 'dc2')) return undefined;
        const sizes = [...plan.chain.targets.keys()].map(
          (id) => plan.table(id)?.instances().length,
        );
        return sizes.every((n) => n !== undefined && n > 0) ? true : undefined;
      },
      { timeoutMs: 20_000 },
    );
  }, 120_000);

  afterAll(async () => {
    await discovery?.close();
    await Promise.all(servers.map((s) => s.close()));
    await dc2?.stop();
    await dc1?.stop();
  });

  it('moves every call to dc2 when dc1 is critical and back when it passes, with no failed call', async () => {
    const client = discovery!.service(SERVICE);
    const calls: Call[] = [];
    const failures: string[] = [];
    let running = true;
    const loadDeadline = performance.now() + 60_000;
    const worker = async (): Promise<void> => {
      // Bounded in count and in time (and stopped by the test when it has seen enough).
      for (let i = 0; i < 25_000 && running && performance.now() < loadDeadline; i++) {
        const startedAt = performance.now();
        try {
          const response = await client.request({ path: '/charge', method: 'GET' });
          const answer = await response.body.text();
          if (response.statusCode !== 200) failures.push(`status ${response.statusCode}`);
          else calls.push({ startedAt, endedAt: performance.now(), answer });
        } catch (error) {
          failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    const dcOf = (call: Call): string => call.answer.slice(0, 3);
    const lastAllIn = (dc: string, n: number): true | undefined =>
      calls.length >= n && calls.slice(-n).every((c) => dcOf(c) === dc) ? true : undefined;
    try {
      await waitFor('calls served by dc1', () => lastAllIn('dc1', 100));

      const failedAt = performance.now();
      await setChecks('fail');
      await waitFor('every call on dc2', () => lastAllIn('dc2', 200), { timeoutMs: 15_000 });
      const toDc2 = calls.find((c) => c.endedAt >= failedAt && dcOf(c) === 'dc2')!;
      const switchToDc2Ms = toDc2.endedAt - failedAt;
      const traffic = client.status().traffic!;
      const local = traffic.targets.find((t) => t.id.endsWith('.dc1'))!;
      expect(local).toMatchObject({ instances: 0, failingOverTo: expect.stringContaining('dc2') });
      // Once on dc2, no call started later goes back to dc1 while its checks are critical.
      const afterSwitch = calls.filter((c) => c.startedAt > toDc2.endedAt);
      expect(afterSwitch.filter((c) => dcOf(c) === 'dc1')).toEqual([]);

      const passedAt = performance.now();
      await setChecks('pass');
      await waitFor('every call back on dc1', () => lastAllIn('dc1', 200), { timeoutMs: 15_000 });
      const toDc1 = calls.find((c) => c.endedAt >= passedAt && dcOf(c) === 'dc1')!;
      const switchToDc1Ms = toDc1.endedAt - passedAt;
      running = false;
      await load;

      const servedBy = new Map<string, number>();
      for (const c of calls) servedBy.set(c.answer, (servedBy.get(c.answer) ?? 0) + 1);
      process.stdout.write(
        `dc failover: ${calls.length} calls, ${failures.length} failed; ` +
          `dc1 critical -> first dc2 call ${switchToDc2Ms.toFixed(0)} ms, ` +
          `dc1 passing -> first dc1 call ${switchToDc1Ms.toFixed(0)} ms; ` +
          `served by ${JSON.stringify(Object.fromEntries(servedBy))}\n`,
      );
      expect(failures).toEqual([]);
      // Both datacenters' instances served calls (the balancer spreads over each side's pair).
      expect([...servedBy.keys()].sort()).toEqual([...dc1Ids, ...dc2Ids].sort());
      expect(switchToDc2Ms).toBeLessThan(5_000);
      expect(switchToDc1Ms).toBeLessThan(5_000);
    } finally {
      running = false;
      await load;
    }
  }, 90_000);
});

// Scenario 4: one of 3 instances slow (Toxiproxy `latency` 200 ms on its answers). Round robin,
// least-request and peak-EWMA run side by side on the same fleet, each through its own discovery;
// the test prints p50 / p99 / p99.9 and the slow instance's share of calls for each, and asserts
// that peak-EWMA sends it under 10% of the calls. Nothing fails with any of them.
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery, ServiceClient, StandaloneDiscoveryOptions } from '../../src';
import { waitFor } from '../../harness/wait-for';
import { errorName } from './support/callers';
import type { Caller } from './support/load';
import { quantile, runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';

const SERVICE = 'chaos-slow';
const SLOW_MS = 200;
const SLOW_FOR_MS = 8_000;

/** A GET that records which instance answered and how long the call took. */
function recordingCaller(client: ServiceClient, servedBy: string[], latencies: number[]): Caller {
  return async () => {
    const startedAt = performance.now();
    try {
      const response = await client.request({ path: '/' });
      await response.body.text();
      latencies.push(performance.now() - startedAt);
      servedBy.push(response.instance.serviceId);
      return response.statusCode === 200
        ? { ok: true }
        : { ok: false, error: `status ${response.statusCode}` };
    } catch (error) {
      return { ok: false, error: errorName(error) };
    }
  };
}

describe('chaos: one slow instance', () => {
  let scenario: Scenario | undefined;
  const others: Discovery[] = [];

  afterAll(async () => {
    for (const discovery of others) await discovery.close();
    await scenario?.stop();
  });

  it('compares round robin, least-request and peak-EWMA; peak-EWMA sends the slow one under 10%', async () => {
    scenario = await startScenario({ service: SERVICE, size: 3 });
    const { toxiproxy, fleet } = scenario;
    const slow = fleet.instances[0]!;
    const balancers: Record<string, NonNullable<StandaloneDiscoveryOptions['client']>> = {
      'least-request': { balancer: 'least-request' },
      'peak-EWMA': { balancer: 'least-request', balancerOptions: { peakEwma: { decayMs: 2_000 } } },
    };
    const clients: Record<string, ServiceClient> = { 'round robin': scenario.client };
    for (const [name, client] of Object.entries(balancers)) {
      const discovery = createDiscovery({ client, metrics: { registry: new Registry() } });
      others.push(discovery);
      clients[name] = discovery.service(SERVICE);
      await waitFor(`${name} to see 3 instances`, () =>
        clients[name]!.instances().length === 3 ? true : undefined,
      );
    }
    const servedBy: Record<string, string[]> = {};
    const latencies: Record<string, number[]> = {};
    const callers: Record<string, Caller> = {};
    for (const [name, client] of Object.entries(clients)) {
      servedBy[name] = [];
      latencies[name] = [];
      callers[name] = recordingCaller(client, servedBy[name], latencies[name]);
    }

    const counts = await runLoad({
      callers,
      ratePerSecond: 50,
      maxMs: 60_000,
      leadMs: 0,
      tailMs: 0,
      action: async () => {
        await toxiproxy.addToxic(slow.proxy, 'slow', {
          type: 'latency',
          attributes: { latency: SLOW_MS },
        });
        // The scenario's length: the balancers meet the slow instance for this long.
        await new Promise((resolve) => setTimeout(resolve, SLOW_FOR_MS));
        await toxiproxy.removeToxic(slow.proxy, 'slow');
      },
    });

    const shares: Record<string, number> = {};
    for (const name of Object.keys(clients)) {
      const sorted = [...latencies[name]!].sort((a, b) => a - b);
      const served = servedBy[name]!;
      shares[name] = served.filter((id) => id === slow.serviceId).length / served.length;
      process.stdout.write(
        `[chaos] ${name}: p50 ${quantile(sorted, 0.5)} ms, p99 ${quantile(sorted, 0.99)} ms, ` +
          `p99.9 ${quantile(sorted, 0.999)} ms, slow instance share ${(shares[name] * 100).toFixed(1)}%\n`,
      );
      await scenario.record(`4 slow instance, ${name}`, counts[name]!, null);
    }

    for (const name of Object.keys(clients)) expect(counts[name]!.errors).toEqual({});
    expect(shares['peak-EWMA']).toBeLessThan(0.1);
  }, 180_000);
});

// Scenario 5: connections to one of 3 instances reset (Toxiproxy `reset_peer`) and then cut after
// 100 bytes, inside the response head (`limit_data`). Idempotent GETs are retried on another
// instance and never fail; POSTs without an idempotency key (the server may have acted on them)
// surface as a typed UpstreamError and are never retried. The naive control fails its GETs.
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import { waitFor } from '../../harness/wait-for';
import { counterSum, libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import type { Toxic } from './support/toxiproxy';

const SERVICE = 'chaos-reset';
// Short ejections bring the victim back while its toxic is still on: more resets per phase.
const OUTLIER = { consecutiveFailures: 5, baseEjectionMs: 500 };

describe('chaos: connections reset', () => {
  let scenario: Scenario | undefined;
  let posting: Discovery | undefined;

  afterAll(async () => {
    await posting?.close();
    await scenario?.stop();
  });

  it('retries idempotent calls elsewhere and surfaces non-idempotent ones as typed errors, never retried', async () => {
    scenario = await startScenario(
      { service: SERVICE, size: 3 },
      { client: { outlierDetection: OUTLIER } },
    );
    const { toxiproxy, fleet, client, naive } = scenario;
    const postRegistry = new Registry();
    posting = createDiscovery({
      metrics: { registry: postRegistry },
      client: { outlierDetection: OUTLIER },
    });
    const postClient = posting.service(SERVICE);
    await postClient.ready();
    const victim = fleet.instances[0]!;
    const inDiscovery = (present: boolean) => () =>
      client.instances().some((i) => i.serviceId === victim.serviceId) === present &&
      postClient.instances().some((i) => i.serviceId === victim.serviceId) === present
        ? true
        : undefined;
    const toxics: Toxic[] = [
      { type: 'reset_peer', attributes: { timeout: 0 } },
      { type: 'limit_data', attributes: { bytes: 100 } },
    ];

    const counts = await runLoad({
      callers: {
        get: libraryCaller(client),
        post: libraryCaller(postClient, { method: 'POST', path: '/orders', body: '{}' }, 201),
        control: naive.caller(),
      },
      ratePerSecond: 60,
      maxMs: 90_000,
      action: async () => {
        for (const toxic of toxics) {
          await toxiproxy.addToxic(victim.proxy, 'cut', toxic);
          // Consul's own check crosses the proxy too: the phase lasts until Consul drops the victim.
          await waitFor(`Consul to drop the victim (${toxic.type})`, inDiscovery(false), {
            timeoutMs: 20_000,
          });
          await toxiproxy.removeToxic(victim.proxy, 'cut');
          await waitFor(`the victim back (${toxic.type})`, inDiscovery(true), {
            timeoutMs: 20_000,
          });
        }
      },
    });
    await scenario.record('5 connections reset (GET)', counts.get, counts.control);
    const postRetries = await counterSum(
      postRegistry,
      'express_consul_client_retries_total',
      postClient.service,
    );
    process.stdout.write(
      `[chaos] POST without idempotency key: ${JSON.stringify(counts.post)}; retries ${postRetries}\n`,
    );

    expect(counts.get.errors).toEqual({});
    expect(counts.get.ok).toBe(counts.get.sent);
    expect((await scenario.counters()).retried).toBeGreaterThan(0);
    expect(counts.post.failed).toBeGreaterThan(0);
    expect(Object.keys(counts.post.errors)).toEqual(['EXPRESS_CONSUL_UPSTREAM']);
    expect(postRetries).toBe(0);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});

// The Consul outage of scenario 7 and its extension: the proxy between the clients and the agent
// blackholed for a bounded time, with the library's staleness metric sampled through it.
import { waitFor } from '../../../harness/wait-for';
import type { Scenario } from './scenario';

/** The staleness gauge of the scenario's service, in seconds (0 when the watch is current). */
export async function stalenessSeconds(scenario: Scenario): Promise<number> {
  const metric = await scenario.registry
    .getSingleMetric('express_consul_discovery_staleness_seconds')
    ?.get();
  return metric?.values.find((v) => v.labels.service === scenario.client.service)?.value ?? 0;
}

/**
 * Blackholes the Consul proxy (a `timeout` toxic with timeout 0) for `outageMs`, samples the
 * staleness every `sampleEveryMs` once it has risen, lifts the fault and waits until the watch
 * answers again. Returns the samples, in seconds.
 */
export async function blackholeConsul(
  scenario: Scenario,
  outageMs: number,
  sampleEveryMs: number,
): Promise<number[]> {
  const { toxiproxy } = scenario;
  const proxy = scenario.consulProxy!;
  const samples: number[] = [];
  await toxiproxy.addToxic(proxy, 'down', { type: 'timeout', attributes: { timeout: 0 } });
  const downAt = Date.now();
  await waitFor('the watch to report staleness', async () =>
    (await stalenessSeconds(scenario)) > 0 ? true : undefined,
  );
  while (Date.now() - downAt < outageMs) {
    samples.push(await stalenessSeconds(scenario));
    await new Promise((resolve) => setTimeout(resolve, sampleEveryMs));
  }
  samples.push(await stalenessSeconds(scenario));
  await toxiproxy.removeToxic(proxy, 'down');
  await waitFor(
    'the watch to answer again',
    async () => ((await stalenessSeconds(scenario)) === 0 ? true : undefined),
    { timeoutMs: 20_000 },
  );
  return samples;
}

// What every instance scenario starts and stops: Toxiproxy, a fleet behind it, the library's
// discovery with its own metrics registry, and the naive control.
import { Registry } from 'prom-client';
import { createDiscovery } from '../../../src';
import type { Discovery, ServiceClient, StandaloneDiscoveryOptions } from '../../../src';
import { waitFor } from '../../../harness/wait-for';
import { counterSum, NaiveClient } from './callers';
import { Fleet } from './fleet';
import type { FleetOptions } from './fleet';
import type { LoadCounts } from './load';
import { recordRow } from '../../../harness/chaos-results';
import { ToxiproxyServer } from './toxiproxy';

/** The parts of one running scenario. */
export interface Scenario {
  readonly toxiproxy: ToxiproxyServer;
  readonly fleet: Fleet;
  readonly registry: Registry;
  readonly discovery: Discovery;
  readonly client: ServiceClient;
  readonly naive: NaiveClient;
  /** The proxy between the library (and the control) and the Consul agent, with `consulProxy`. */
  readonly consulProxy: string | undefined;
  /** Retries and ejections of the service so far, from the library's metrics. */
  counters(): Promise<{ retried: number; ejected: number }>;
  /** Prints and stores the scenario's row (library counts, control failures). */
  record(name: string, library: LoadCounts, control: LoadCounts | null): Promise<void>;
  /** Stops everything it started; idempotent. */
  stop(): Promise<void>;
}

/** Starts the fleet behind Toxiproxy and waits until discovery lists every instance. */
export async function startScenario(
  fleetOptions: FleetOptions,
  discoveryOptions: StandaloneDiscoveryOptions = {},
  naiveOptions = { lookupCacheMs: 1_000, timeoutMs: 5_000 },
  /** Put a Toxiproxy proxy between both clients and the agent (the instances reach it directly). */
  consulProxy = false,
  /** Where both clients reach Consul instead of CONSUL_HTTP_ADDR (a fault server in front of it). */
  consulAddressOverride?: string,
): Promise<Scenario> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const toxiproxy = await ToxiproxyServer.start();
    stops.push(() => toxiproxy.stop());
    const fleet = await Fleet.start(toxiproxy, fleetOptions);
    stops.push(() => fleet.stop());
    const agent = new URL(process.env.CONSUL_HTTP_ADDR!);
    let consulAddress = consulAddressOverride ?? agent.origin;
    if (consulProxy) {
      const proxy = await toxiproxy.createProxy('consul', agent.host);
      consulAddress = `http://${proxy.listen}`;
    }
    const registry = new Registry();
    const discovery = createDiscovery({
      ...discoveryOptions,
      consul: { ...discoveryOptions.consul, address: consulAddress },
      metrics: { registry },
    });
    stops.push(() => discovery.close());
    const naive = new NaiveClient(consulAddress, fleetOptions.service, naiveOptions);
    stops.push(() => naive.close());
    const client = discovery.service(fleetOptions.service);
    await waitFor(
      `the ${fleetOptions.size} instances in discovery`,
      () => (client.instances().length === fleetOptions.size ? true : undefined),
      { timeoutMs: 15_000 },
    );
    const counters = async () => ({
      retried: await counterSum(registry, 'express_consul_client_retries_total', client.service),
      ejected: await counterSum(registry, 'express_consul_client_ejections_total', client.service),
    });
    return {
      toxiproxy,
      fleet,
      registry,
      discovery,
      client,
      naive,
      consulProxy: consulProxy ? 'consul' : undefined,
      counters,
      async record(name, library, control) {
        const { retried, ejected } = await counters();
        recordRow({
          scenario: name,
          sent: library.sent,
          ok: library.ok,
          failed: library.failed,
          retried,
          ejected,
          controlFailed: control?.failed ?? null,
          p99Ms: library.p99Ms,
        });
        process.stdout.write(
          `[chaos] library errors ${JSON.stringify(library.errors)}; control errors ${JSON.stringify(control?.errors ?? null)}\n`,
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

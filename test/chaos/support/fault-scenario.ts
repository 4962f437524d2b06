// A scenario whose clients (library and control) read Consul through a fault server, while the
// instances register with the agent directly: what the garbage scenarios share.
import { ConsulFaultServer } from './consul-fault-server';
import { startScenario } from './scenario';
import type { Scenario } from './scenario';

/** The fault server and the scenario behind it. */
export interface FaultScenario {
  readonly fault: ConsulFaultServer;
  readonly scenario: Scenario;
  /** Stops the scenario, then the fault server. */
  stop(): Promise<void>;
}

/** 3 instances of `service`, a watch that retries quickly, and a fault server in `pass` mode. */
export async function startFaultScenario(service: string): Promise<FaultScenario> {
  const fault = await ConsulFaultServer.start(process.env.CONSUL_HTTP_ADDR!, service);
  try {
    const scenario = await startScenario(
      { service, size: 3 },
      { watch: { waitMs: 1_000, backoff: { baseMs: 100, maxMs: 500 } } },
      { lookupCacheMs: 200, timeoutMs: 2_000 },
      false,
      fault.address,
    );
    return {
      fault,
      scenario,
      async stop() {
        await scenario.stop();
        await fault.stop();
      },
    };
  } catch (error) {
    await fault.stop();
    throw error;
  }
}

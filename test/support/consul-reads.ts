import type { ExpressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import type { HealthServiceEntry } from '../../src/consul/consul-types';

/** The health entry of one instance as Consul reports it, or undefined when it is not listed. */
export async function healthEntry(
  client: ConsulClient,
  service: string,
  id: string,
): Promise<HealthServiceEntry | undefined> {
  const { data } = await client.healthService(service);
  return data.find((entry) => entry.Service.ID === id);
}

/** Aggregate status of an entry's checks: the worst one. */
export function aggregateStatus(entry: HealthServiceEntry): string {
  const order = ['passing', 'warning', 'critical', 'maintenance'];
  return entry.Checks.reduce(
    (worst, check) => (order.indexOf(check.Status) > order.indexOf(worst) ? check.Status : worst),
    'passing',
  );
}

/** A logger that keeps every line it is given, to assert on what the library logs. */
export function recordingLogger(): {
  lines: string[];
  logger: { debug: Log; info: Log; warn: Log; error: Log };
} {
  const lines: string[] = [];
  const log: Log = (obj, msg) => {
    lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  return { lines, logger: { debug: log, info: log, warn: log, error: log } };
}

type Log = (obj: object, msg?: string) => void;

/**
 * Listens on loopback, asserts the agent behind `reader` now holds the registration, then closes
 * both the adapter and the reader.
 */
export async function expectRegistersAndCloses(
  adapter: ExpressConsul,
  reader: ConsulClient,
): Promise<void> {
  try {
    await adapter.listen(0, '127.0.0.1');
    expect(adapter.registration.state).toBe('registered');
    expect(await reader.getAgentService(adapter.registration.serviceId)).toBeDefined();
  } finally {
    await adapter.close();
    await reader.close();
  }
}

// Shared by the request-path suites: loopback upstreams that count what they receive, and a
// Discovery whose health answers are fixed lists (each test sets exactly the instances it needs).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Discovery } from '../../src/client/discovery';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import type { DiscoveryOptions } from '../../src/client/discovery-options';
import type { CallOptions, ConsulClient, ConsulQueryResult } from '../../src/consul/consul-client';
import type { HealthServiceEntry, HealthServiceQuery } from '../../src/consul/consul-types';
import { silentLogger } from '../../src/logger';
import type { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import type { Logger } from '../../src/logger';
import { healthEntry, ScriptedHealthSource } from '../watch/fake-health-source';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback HTTP server; `received` counts every request that reached it. */
export interface Upstream {
  readonly port: number;
  received: number;
  handler: Handler;
}

/** Everything a suite started, stopped by {@link stopAll} (call it in afterEach). */
const servers: Server[] = [];
const discoveries: Discovery[] = [];

export async function stopAll(): Promise<void> {
  await Promise.all(discoveries.splice(0).map((d) => d.destroy()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}

export async function upstream(handler: Handler = (_q, r) => r.end('ok')): Promise<Upstream> {
  const state: Upstream = { received: 0, handler, port: 0 };
  const server = createServer((request, response) => {
    state.received += 1;
    state.handler(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { port: number }).port = (server.address() as AddressInfo).port;
  return state;
}

/** A health entry for service `name` with id `id` on `node`, at 127.0.0.1:port. */
export function entry(
  name: string,
  id: string,
  port: number,
  node = 'node-1',
  meta: Record<string, string> = {},
): HealthServiceEntry {
  const base = healthEntry(id, { service: name, port, meta });
  return { ...base, Node: { Node: node, Address: '127.0.0.1' } };
}

/** Consul reduced to fixed lists: the first query answers at once, later ones block until aborted. */
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

/** A Discovery whose Consul answers with `entries` for every service; destroyed by stopAll. */
export function fixedDiscovery(
  entries: Record<string, HealthServiceEntry[]>,
  options: DiscoveryOptions = {},
  logger: Logger = silentLogger,
  metrics?: ExpressConsulMetrics,
): Discovery {
  const d = new Discovery(
    new FixedHealthSource(entries) as unknown as ConsulClient,
    resolveDiscoveryOptions(options),
    metrics,
    logger,
  );
  discoveries.push(d);
  return d;
}

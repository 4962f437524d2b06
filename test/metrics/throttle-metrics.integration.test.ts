// Issue #12, "429 understood": an agent whose limits.http_max_conns_per_client is already used up
// by other connections on the address (held here by the test) answers 429; the library counts each
// refusal in consul_throttled_total{lane}, the watch budget's gauges show the shrunk allowance, one
// log line names the limit, and everything recovers once the connections are given back.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src/client/create-discovery';
import type { Discovery } from '../../src/client/discovery';
import type { Logger } from '../../src/logger';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { findSample, parsePrometheusText } from '../support/prometheus-text';
import { waitFor } from '../../harness/wait-for';
import { agentCall, registerServices } from '../../harness/scale/scale-support';

const LIMIT = 8;
/** More services than slots, so the check watch and the polled lane run too. */
const SERVICES = 30;

jest.setTimeout(60_000);

let agent: StartedConsul;
let names: string[];

beforeAll(async () => {
  agent = await startConsul({
    mode: 'binary',
    hcl: [`limits { http_max_conns_per_client = ${LIMIT} }`],
  });
  names = await registerServices(agent.address, 'thr', SERVICES);
});

afterAll(async () => {
  await agent?.stop();
});

/** Opens `count` idle TCP connections to the agent: each counts against the per-client limit. */
async function holdConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
    await once(socket, 'connect');
  }
  return sockets;
}

function capturingLogger(lines: string[]): Logger {
  const keep = (fields: object, message?: string): void => {
    lines.push(message ?? JSON.stringify(fields));
  };
  return { debug: () => undefined, info: keep, warn: keep, error: keep };
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  return findSample(parsePrometheusText(text).samples, `express_consul_${name}`, labels)?.value;
}

test('429s from the agent are counted by lane, shrink the watch budget gauge, are logged once, and recover', async () => {
  const registry = new Registry();
  const logLines: string[] = [];
  let discovery: Discovery | undefined;
  // The address's every connection taken: the next one Consul accepts is answered 429.
  let held = await holdConnections(Number(new URL(agent.address).port), LIMIT);
  try {
    // A fresh connection of the test's own is refused too: the limit is really reached.
    expect((await agentCall(agent.address, 'GET', '/v1/agent/self')).status).toBe(429);
    discovery = createDiscovery({
      consul: { address: agent.address },
      metrics: { registry },
      logger: capturingLogger(logLines),
    });
    const d = discovery;
    const clients = names.map((name) => d.service(name));
    const throttled = await waitFor(
      'a 429 counted in consul_throttled_total',
      async () => {
        const value = sample(await registry.metrics(), 'consul_throttled_total', { lane: 'poll' });
        return value !== undefined && value > 0 ? value : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(throttled).toBeGreaterThan(0);
    const text = await registry.metrics();
    const configured = sample(text, 'discovery_watch_connections', { budget: 'configured' });
    const allowed = sample(text, 'discovery_watch_connections', { budget: 'allowed' });
    // The default budget of 32: 24 for the watches; a 429 halves what they may use.
    expect(configured).toBe(24);
    expect(allowed).toBeLessThan(24);
    const slotted = sample(text, 'discovery_watch_services', { mode: 'slotted' });
    const polled = sample(text, 'discovery_watch_services', { mode: 'polled' });
    expect((slotted ?? 0) + (polled ?? 0)).toBe(SERVICES);
    expect(polled).toBeGreaterThan(0);
    // Only lanes that exist as labels: a bounded set.
    const lanes = parsePrometheusText(text)
      .samples.filter((s) => s.name === 'express_consul_consul_throttled_total')
      .map((s) => s.labels.lane);
    for (const lane of lanes) expect(['watch', 'poll', 'control', 'short']).toContain(lane);

    // Connections given back: every service becomes ready, nothing refused any more.
    for (const socket of held) socket.destroy();
    held = [];
    await Promise.all(clients.map((client) => client.ready(AbortSignal.timeout(20_000))));
    const mentions = logLines.filter((line) => line.includes('limits.http_max_conns_per_client'));
    expect(mentions).toHaveLength(1);
  } finally {
    for (const socket of held) socket.destroy();
    await discovery?.close();
  }
});

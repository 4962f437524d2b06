import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { Discovery } from '../../src/client/discovery';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';
import {
  ProbeClient,
  registerInstance,
  registerServices,
  sampleMax,
  socketsTo,
} from '../../harness/scale/scale-support';

// Issue #12: 150 upstreams from one process against an agent that allows 50 connections per
// client IP. One blocking query per service used to hold one connection each: 429s for the
// watches, services never ready, and every other client on the address refused.
const SERVICES = 150;
const LIMIT = 50;

jest.setTimeout(120_000);

let agent: StartedConsul;
let names: string[];

beforeAll(async () => {
  agent = await startConsul({
    mode: 'binary',
    hcl: [`limits { http_max_conns_per_client = ${LIMIT} }`],
  });
  names = await registerServices(agent.address, 'up', SERVICES);
});

afterAll(async () => {
  await agent?.stop();
});

test(`${SERVICES} upstreams under http_max_conns_per_client = ${LIMIT}: all ready, no 429 to anyone, changes seen`, async () => {
  const probe = new ProbeClient(agent.address);
  const sockets = sampleMax(() => socketsTo(Number(new URL(agent.address).port)));
  const errors: Error[] = [];
  let discovery: Discovery | undefined;
  // One client for discovery and the app's own registration calls, as expressConsul() has it.
  const own = new ConsulClient({ address: agent.address });
  try {
    discovery = new Discovery(own, resolveDiscoveryOptions({}), undefined, silentLogger);
    const d = discovery;
    const clients = names.map((name) => d.service(name));
    for (const client of clients) client.watcher.onError((event) => errors.push(event.error));
    const started = Date.now();
    const ready = await Promise.allSettled(
      clients.map((client) => client.ready(AbortSignal.timeout(10_000))),
    );
    const readyMs = Date.now() - started;
    const notReady = ready.filter((outcome) => outcome.status === 'rejected').length;

    // A change to the first and to the last service reaches the callers.
    const seenMs: number[] = [];
    for (const index of [0, SERVICES - 1]) {
      const client = clients[index]!;
      const before = Date.now();
      await registerInstance(agent.address, names[index]!, `${names[index]!}-extra`, 30_000);
      await waitFor(
        `the new instance of ${names[index]!}`,
        () => (client.instances().length === 2 ? true : undefined),
        { timeoutMs: 5_000, intervalMs: 5 },
      ).catch(() => undefined);
      seenMs.push(Date.now() - before);
    }
    // The app's own registration calls still get through while every watch runs.
    const registrationCalls: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = Date.now();
      await own.getAgentService(`${names[0]!}-0`).then(
        () => registrationCalls.push(Date.now() - t),
        () => registrationCalls.push(Number.POSITIVE_INFINITY),
      );
    }
    const maxSockets = sockets.stop();
    const tooMany = errors.filter((error) => /429|too many/i.test(error.message)).length;
    process.stdout.write(
      `many upstreams: ${SERVICES - notReady} of ${SERVICES} services ready in ${readyMs} ms; changes seen in ${seenMs.join(', ')} ms; ` +
        `max sockets ${maxSockets}; watch errors ${errors.length} (${tooMany} x 429); probe ${probe.refused()} refused of ${probe.total()}; ` +
        `own calls ${registrationCalls.filter((ms) => ms === Number.POSITIVE_INFINITY).length} of 10 failed\n`,
    );
    expect(notReady).toBe(0);
    expect(registrationCalls.every((ms) => ms < 1_000)).toBe(true);
    expect(tooMany).toBe(0);
    expect(errors).toEqual([]);
    expect(probe.refused()).toBe(0);
    // The budget (default 32), plus at most one connection of the test's own registering helper.
    expect(maxSockets).toBeLessThanOrEqual(own.connectionBudget.total + 1);
    expect(own.connectionBudget.total).toBe(32);
    for (const ms of seenMs) expect(ms).toBeLessThanOrEqual(2_000);
  } finally {
    sockets.stop();
    await probe.stop();
    await discovery?.close();
    await own.close();
  }
});

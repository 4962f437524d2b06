import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { Discovery } from '../../src/client/discovery';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import {
  agentCall,
  instanceOperations,
  registerInstancesOf,
} from '../../harness/scale/scale-support';

// Issue #12, item 5: applying a 10,000-instance answer (parse, checks, conversion, routing table,
// balancer, metrics) must not stall the service's own work. Measured as the event loop sees it:
// perf_hooks' delay histogram at 5 ms resolution, over the first answer and three changes.
const INSTANCES = 10_000;
const CHANGES = 3;
const SERVICE = 'big';
/** The bound on the event-loop delay p99 while the answer is applied, in ms. */
const P99_BOUND_MS = 50;
/** No single task may hold the loop much longer than a slice, even on a loaded 2-core runner. */
const MAX_BOUND_MS = 100;
/** Idle measurement before the answer: what the machine itself adds (other processes, 2 cores). */
const BASELINE_MS = 3_000;
/** The histogram's resolution: an idle loop's delay on a quiet machine. */
const RESOLUTION_MS = 5;

jest.setTimeout(180_000);

let agent: StartedConsul;

beforeAll(async () => {
  agent = await startConsul({ mode: 'binary' });
  await registerInstancesOf(agent.address, SERVICE, INSTANCES);
});

afterAll(async () => {
  await agent?.stop();
});

test(`a ${INSTANCES}-instance answer is applied without holding the event loop (p99 <= ${P99_BOUND_MS} ms, max <= ${MAX_BOUND_MS} ms, plus the idle machine's own delay)`, async () => {
  const consul = new ConsulClient({ address: agent.address });
  const metrics = new ExpressConsulMetrics(new Registry());
  const discovery = new Discovery(consul, resolveDiscoveryOptions({}), metrics, silentLogger);
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const appliedMs: number[] = [];
  const ms = (ns: number): number => Math.round(ns / 1e6);
  try {
    // On a shared runner the OS deschedules even an idle process for tens of ms: that delay is
    // the machine's, not the library's, so the bounds are the plus what an idle loop
    // shows just before (on a quiet machine nothing: p99 and max at the resolution). Today's
    // code (one synchronous apply) showed max 754 ms against an idle max of about 50 ms.
    const idle = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    idle.enable();
    await new Promise((resolve) => setTimeout(resolve, BASELINE_MS));
    idle.disable();
    const p99Bound = P99_BOUND_MS + Math.max(0, ms(idle.percentile(99)) - RESOLUTION_MS);
    const maxBound = MAX_BOUND_MS + Math.max(0, ms(idle.max) - RESOLUTION_MS);
    histogram.enable();
    const client = discovery.service(SERVICE);
    const started = performance.now();
    await client.ready(AbortSignal.timeout(60_000));
    appliedMs.push(performance.now() - started);
    expect(client.instances()).toHaveLength(INSTANCES);

    for (let change = 1; change <= CHANGES; change++) {
      const before = performance.now();
      const answer = await agentCall(
        agent.address,
        'PUT',
        '/v1/txn',
        // On a node that exists: the first one.
        instanceOperations(SERVICE, INSTANCES + change - 1, `${SERVICE}-node-0`),
      );
      expect(answer.status).toBe(200);
      await waitFor(
        `change ${change} in the routing table`,
        () => (client.instances().length === INSTANCES + change ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      appliedMs.push(performance.now() - before);
    }
    histogram.disable();
    process.stdout.write(
      `large answer: ${INSTANCES} instances, first answer and ${CHANGES} changes applied in ` +
        `${appliedMs.map((v) => v.toFixed(0)).join(', ')} ms; event-loop delay p50 ${ms(histogram.percentile(50))} ` +
        `p99 ${ms(histogram.percentile(99))} (bound ${p99Bound}) max ${ms(histogram.max)} (bound ${maxBound}) ms; ` +
        `idle before: p99 ${ms(idle.percentile(99))} max ${ms(idle.max)} ms\n`,
    );
    expect(ms(histogram.percentile(99))).toBeLessThanOrEqual(p99Bound);
    expect(ms(histogram.max)).toBeLessThanOrEqual(maxBound);
  } finally {
    histogram.disable();
    await discovery.close();
    await consul.close();
  }
});

import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import type { Discovery } from '../../src';
import { startExample } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((v) =>
    Object.entries(labels).every(
      ([k, value]) => (v.labels as Record<string, unknown>)[k] === value,
    ),
  );
  return sample?.value ?? 0;
}

describe('resilience of outbound calls', () => {
  it('loses no GET when one of three instances is killed with SIGKILL mid-stream, ejects it, and stays within the retry budget', async () => {
    const consul = new ConsulClient();
    const children: ChildService[] = [];
    const registry = new Registry();
    // Stated here rather than taken from the defaults: the bound on the victim's attempts below.
    const ejectAfterFailures = 5;
    const d = createDiscovery({
      metrics: { registry },
      client: { outlierDetection: { consecutiveFailures: ejectAfterFailures } },
    });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        children.push(
          startExample('my-service', {
            CHECK_INTERVAL_MS: '1000',
            // Consul needs 3 failed checks (2 s at least) to drop the dead one; passive ejection
            // must have done it long before (5 failures at ~33 calls/s to it: ~150 ms).
            FAILURES_BEFORE_CRITICAL: '3',
            INSTANCE_NAME: `victim-test-${i}`,
          }),
        );
      }
      for (const child of children) ids.push((await child.next('listening')).id as string);
      const client = d.service('my_service');
      await waitFor(
        'the three example instances',
        () =>
          ids.every((id) => client.instances().some((instance) => instance.serviceId === id))
            ? true
            : undefined,
        { timeoutMs: 10_000 },
      );

      // 100 GETs per second for 5 s; the victim dies after 1 s.
      const total = 500;
      const results: Promise<number | string>[] = [];
      const startedAt = Date.now();
      for (let i = 0; i < total; i++) {
        const due = startedAt + i * 10;
        if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
        if (i === 100) children[0]!.child.kill('SIGKILL');
        results.push(
          client.request({ path: '/' }).then(
            async (response) => {
              await response.body.dump();
              return response.statusCode;
            },
            (error: unknown) => String(error),
          ),
        );
      }
      const outcomes = await Promise.all(results);
      const failed = outcomes.filter((outcome) => outcome !== 200);
      const budget = client.retryBudget;
      const ejections = await metricValue(registry, 'express_consul_client_ejections_total', {
        service: 'my_service',
      });
      // The other two stay healthy, so every retry started from a failed attempt on the victim
      // (whose own series left with it once Consul dropped it).
      let victimFailures = 0;
      for (const reason of ['connect_failure', 'reset']) {
        victimFailures += await metricValue(registry, 'express_consul_client_retries_total', {
          service: 'my_service',
          reason,
        });
      }
      const retries =
        (
          await registry.getSingleMetric('express_consul_client_retries_total')?.get()
        )?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
      process.stdout.write(
        `kill -9 under 100 GET/s: ${failed.length} failed of ${total}; ${retries} retries (${((retries / total) * 100).toFixed(1)}%), ${ejections} ejection(s), ${victimFailures} failed attempt(s) on the victim, budget exhausted ${budget.exhausted} times\n`,
      );
      expect(failed).toEqual([]);
      expect(retries).toBeGreaterThan(0);
      expect(retries).toBeLessThanOrEqual(0.2 * total + 100);
      expect(budget.exhausted).toBe(0);
      // Ejected passively, before Consul's failing checks could drop it: the victim cost at most
      // the ejection threshold of failed attempts, then no more traffic.
      expect(ejections).toBeGreaterThanOrEqual(1);
      expect(victimFailures).toBeGreaterThan(0);
      expect(victimFailures).toBeLessThanOrEqual(ejectAfterFailures);
    } finally {
      for (const child of children)
        if (child.child.exitCode === null && child.child.signalCode === null)
          child.child.kill('SIGTERM');
      await Promise.all(children.map((child) => child.exited));
      await d.close();
      for (const id of ids) await consul.deregisterService(id);
      await consul.close();
    }
  });

  describe('when the Consul agent is stopped for 10 s', () => {
    let agent: StartedConsul;
    const fleet: TestInstance[] = [];
    beforeAll(async () => {
      agent = await startConsul({ mode: 'binary' });
    });
    afterAll(async () => {
      await Promise.all(fleet.map((instance) => instance.close()));
      await agent.stop();
    });

    it('keeps routing to the last known instances, reports growing staleness, and resumes the watch afterwards', async () => {
      const name = uniqueService('outage');
      fleet.push(
        ...(await Promise.all(
          [0, 1].map(() => startInstance(name, { consulAddress: agent.address })),
        )),
      );
      const registry = new Registry();
      const d: Discovery = createDiscovery({
        consul: { address: agent.address },
        metrics: { registry },
        watch: { backoff: { baseMs: 100, maxMs: 1_000 } },
      });
      try {
        const client = d.service(name);
        await waitFor('two instances', () => (client.instances().length === 2 ? true : undefined), {
          timeoutMs: 10_000,
        });

        await agent.kill('SIGTERM');
        const stoppedAt = Date.now();
        let failures = 0;
        let calls = 0;
        let stalenessMidway = 0;
        while (Date.now() - stoppedAt < 10_000 && calls < 1_000) {
          calls += 1;
          const response = await client.request({ path: '/hello' }).catch(() => undefined);
          if (response?.statusCode !== 200) failures += 1;
          await response?.body.dump();
          if (stalenessMidway === 0 && Date.now() - stoppedAt > 5_000) {
            stalenessMidway = await metricValue(
              registry,
              'express_consul_discovery_staleness_seconds',
              { service: name },
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        const stalenessAtEnd = await metricValue(
          registry,
          'express_consul_discovery_staleness_seconds',
          { service: name },
        );
        process.stdout.write(
          `Consul down 10 s: ${calls - failures}/${calls} calls served; staleness ${stalenessMidway.toFixed(1)} s midway, ${stalenessAtEnd.toFixed(1)} s at the end\n`,
        );
        expect(failures).toBe(0);
        expect(client.instances()).toHaveLength(2);
        expect(stalenessMidway).toBeGreaterThan(4);
        expect(stalenessAtEnd).toBeGreaterThan(stalenessMidway);
        expect(client.watcher.status().stale).toBe(true);

        await agent.restart();
        // The instances heal their own registrations; the watch resumes without any restart here.
        const late = await startInstance(name, { consulAddress: agent.address });
        fleet.push(late);
        await waitFor(
          'the watch to resume and see all three',
          () => (client.instances().length === 3 ? true : undefined),
          {
            timeoutMs: 15_000,
          },
        );
        expect(client.watcher.status().stale).toBe(false);
        expect(
          await metricValue(registry, 'express_consul_discovery_staleness_seconds', {
            service: name,
          }),
        ).toBe(0);
        expect(
          await metricValue(registry, 'express_consul_discovery_watch_errors_total', {
            service: name,
          }),
        ).toBeGreaterThan(0);
      } finally {
        await d.close();
      }
    });
  });
});

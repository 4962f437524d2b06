import express from 'express';
import { expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import type { ExpressConsul, HealthState } from '../../src';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { aggregateStatus, healthEntry } from '../support/consul-reads';
import { waitFor } from '../../harness/wait-for';

const CHECK_INTERVAL_MS = 1_000;

describe('registration against a real Consul agent', () => {
  const client = new ConsulClient();
  const adapters: ExpressConsul[] = [];

  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
    await client.close();
  });

  function start(
    name: string,
    health: () => HealthState,
    extra: { address?: string } = {},
  ): ExpressConsul {
    const app = express();
    app.get('/', (_req, res) => res.send('hello'));
    const adapter = expressConsul(app, {
      service: {
        name,
        tags: ['v1', 'test'],
        meta: { version: '1.2.3' },
        weights: { passing: 5, warning: 1 },
        check: { intervalMs: CHECK_INTERVAL_MS, timeoutMs: 1_000 },
        ...extra,
      },
      health: { indicators: [{ name: 'dependency', check: () => Promise.resolve(health()) }] },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(adapter);
    return adapter;
  }

  it('registers name, id, address, real port, tags, meta and weights with a passing HTTP check within two intervals', async () => {
    const adapter = start('my_service', () => 'passing');
    const listenedAt = Date.now();
    const server = await adapter.listen(0, '127.0.0.1');
    const port = (server.address() as { port: number }).port;
    const id = adapter.registration.serviceId;

    const entry = await waitFor(
      'the check to pass',
      async () => {
        const found = await healthEntry(client, 'my_service', id);
        return found && aggregateStatus(found) === 'passing' ? found : undefined;
      },
      // Waits well past the claimed bound, so a slow check fails the assertion below, not the wait.
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const passingAfterMs = Date.now() - listenedAt;
    expect(passingAfterMs).toBeLessThanOrEqual(2 * CHECK_INTERVAL_MS + 1_000);
    expect(entry.Service).toMatchObject({
      ID: id,
      Service: 'my_service',
      Address: '127.0.0.1',
      Port: port,
      Tags: ['v1', 'test'],
      Meta: { version: '1.2.3' },
      Weights: { Passing: 5, Warning: 1 },
    });
    expect(port).toBeGreaterThan(0);
    const httpCheck = entry.Checks.find((check) => check.CheckID === `service:${id}:http`);
    expect(httpCheck?.Status).toBe('passing');
    // The body Consul stores shows only states: no stack, version or configuration.
    expect(httpCheck?.Output).toContain('{"status":"passing","checks":{"dependency":"passing"}}');
  });

  it('turns critical when an indicator fails and passing again when it recovers', async () => {
    let state: HealthState = 'passing';
    const adapter = start('flaky-service', () => state);
    await adapter.listen(0, '127.0.0.1');
    const id = adapter.registration.serviceId;
    const statusIs = (wanted: string) => async () => {
      const entry = await healthEntry(client, 'flaky-service', id);
      return entry && aggregateStatus(entry) === wanted ? true : undefined;
    };
    await waitFor('passing', statusIs('passing'), { timeoutMs: 5_000 });
    state = 'critical';
    await waitFor('critical', statusIs('critical'), { timeoutMs: 5_000 });
    state = 'warning';
    await waitFor('warning', statusIs('warning'), { timeoutMs: 5_000 });
    state = 'passing';
    await waitFor('passing again', statusIs('passing'), { timeoutMs: 5_000 });
  });

  it('close() removes the instance from the catalog', async () => {
    const adapter = start('closing-service', () => 'passing');
    await adapter.listen(0, '127.0.0.1');
    const id = adapter.registration.serviceId;
    expect(await healthEntry(client, 'closing-service', id)).toBeDefined();
    await adapter.close();
    expect(adapter.state).toBe('closed');
    expect(await healthEntry(client, 'closing-service', id)).toBeUndefined();
    expect(await client.getAgentService(id)).toBeUndefined();
  });

  it('maintenance mode marks the instance critical and back', async () => {
    const adapter = start('maintained-service', () => 'passing');
    await adapter.listen(0, '127.0.0.1');
    const id = adapter.registration.serviceId;
    await adapter.registration.setMaintenance(true, 'testing');
    let entry = await healthEntry(client, 'maintained-service', id);
    // Consul models maintenance as an extra critical check on the instance.
    const maintenance = entry?.Checks.find((check) =>
      check.CheckID.startsWith('_service_maintenance'),
    );
    expect(maintenance?.Status).toBe('critical');
    expect(maintenance?.Notes ?? maintenance?.Output).toBeDefined();
    await adapter.registration.setMaintenance(false);
    entry = await healthEntry(client, 'maintained-service', id);
    expect(entry?.Checks.some((check) => check.CheckID.startsWith('_service_maintenance'))).toBe(
      false,
    );
  });
});

describe('drain in maintenance mode', () => {
  it('enters maintenance first, so watchers drop the instance, and deregisters at the end', async () => {
    const client = new ConsulClient();
    const adapter = expressConsul(express(), {
      service: { name: 'maintenance-drain', check: { intervalMs: 1_000 } },
      shutdown: {
        handleSignals: false,
        mode: 'maintenance',
        propagationDelayMs: 1_000,
        drainTimeoutMs: 3_000,
      },
      metrics: false,
    });
    try {
      await adapter.listen(0, '127.0.0.1');
      const id = adapter.registration.serviceId;
      const closing = adapter.close();
      const inMaintenance = await waitFor('maintenance during the drain', async () => {
        const entry = await healthEntry(client, 'maintenance-drain', id);
        return entry?.Checks.some((check) => check.CheckID.startsWith('_service_maintenance'))
          ? true
          : undefined;
      });
      expect(inMaintenance).toBe(true);
      expect(adapter.state).toBe('draining');
      await closing;
      expect(await healthEntry(client, 'maintenance-drain', id)).toBeUndefined();
    } finally {
      await adapter.close();
      await client.close();
    }
  });
});

describe('self-healing registration', () => {
  let agent: StartedConsul;
  beforeAll(async () => {
    agent = await startConsul({ mode: 'binary' });
  });
  afterAll(async () => {
    await agent.stop();
  });

  it('registers again with the same id within 10 s after the agent restarts', async () => {
    const client = new ConsulClient({ address: agent.address });
    const app = express();
    const adapter = expressConsul(app, {
      service: { name: 'phoenix', check: { intervalMs: 1_000 } },
      consul: { address: agent.address },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    try {
      await adapter.listen(0, '127.0.0.1');
      const id = adapter.registration.serviceId;
      expect(await client.getAgentService(id)).toBeDefined();

      await agent.restart();
      const restartedAt = Date.now();
      // Dev mode forgets everything: right after the restart the agent does not know us.
      const back = await waitFor(
        're-registration',
        async () => (await client.getAgentService(id)) ?? undefined,
        // Waits past the claimed 10 s, so a late heal fails the assertion below, not the wait.
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      const healedInMs = Date.now() - restartedAt;
      expect(back.service.ID).toBe(id);
      expect(healedInMs).toBeLessThan(10_000);
      const { data } = await client.healthService('phoenix');
      expect(data.filter((entry) => entry.Service.ID === id)).toHaveLength(1);
      expect(adapter.registration.reregistrationCount).toBe(1);
      process.stdout.write(`re-registered ${healedInMs} ms after the agent restarted\n`);
    } finally {
      await adapter.close();
      await client.close();
    }
  });

  it('starts even when Consul is down and registers once it is reachable', async () => {
    await agent.kill('SIGTERM');
    const client = new ConsulClient({ address: agent.address });
    const adapter = expressConsul(express(), {
      service: { name: 'patient' },
      consul: { address: agent.address },
      registration: { retryMaxMs: 500 },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    try {
      await adapter.listen(0, '127.0.0.1');
      expect(adapter.state).toBe('running');
      expect(adapter.registration.state).toBe('registering');
      await agent.restart();
      await waitFor(
        'late registration',
        async () => (await client.getAgentService(adapter.registration.serviceId)) ?? undefined,
        {
          timeoutMs: 10_000,
        },
      );
      expect(adapter.registration.state).toBe('registered');
    } finally {
      await adapter.close();
      await client.close();
    }
  });
});

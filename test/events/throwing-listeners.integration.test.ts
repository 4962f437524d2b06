// A registration listener that throws (ServiceRegistration is public: users subscribe to its state)
// must not stop the service from registering or from leaving Consul (#14), against a real agent.
import express from 'express';
import { expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import type { Logger } from '../../src/logger';
import { healthEntry } from '../support/consul-reads';

test('a throwing onStateChange listener is logged; the service registers and deregisters all the same', async () => {
  const client = new ConsulClient();
  const errors: object[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (obj) => errors.push(obj),
  };
  const app = express();
  const adapter = expressConsul(app, {
    service: { name: 'throwing-listener-svc', check: { intervalMs: 1_000 } },
    shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    logger,
  });
  const seen: string[] = [];
  adapter.registration.onStateChange((state) => {
    seen.push(state);
    throw new Error('listener bug');
  });
  try {
    await adapter.listen(0, '127.0.0.1');
    const id = adapter.registration.serviceId;
    expect(await healthEntry(client, 'throwing-listener-svc', id)).toBeDefined();
    expect(seen).toContain('registered');
    await adapter.close();
    expect(await healthEntry(client, 'throwing-listener-svc', id)).toBeUndefined();
    expect(seen.at(-1)).toBe('deregistered');
    expect(errors).toContainEqual(expect.objectContaining({ error: 'listener bug' }));
  } finally {
    await adapter.close();
    await client.close();
  }
});

// The advertised address against the run's dev agent on loopback (the local topology of
// docs/topologies.md): the README's `listen(port)` on every interface, a server on 0.0.0.0, and
// one on ::1 only. Each must be registered where the agent's check and callers reach it: checks
// pass and a caller gets through.
import express from 'express';
import { expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import type { ExpressConsul } from '../../src';
import { aggregateStatus, healthEntry } from '../support/consul-reads';
import { waitFor } from '../../harness/wait-for';

describe('the advertised address with a dev agent on loopback', () => {
  const client = new ConsulClient();
  const adapters: ExpressConsul[] = [];

  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
    await client.close();
  });

  function start(name: string): ExpressConsul {
    const app = express();
    app.get('/', (_req, res) => res.json({ name }));
    const adapter = expressConsul(app, {
      service: { name, check: { intervalMs: 1_000, timeoutMs: 1_000 } },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(adapter);
    return adapter;
  }

  const passing = (name: string, id: string) =>
    waitFor(
      `${name} passing`,
      async () => {
        const entry = await healthEntry(client, name, id);
        return entry && aggregateStatus(entry) === 'passing' ? entry : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );

  it.each([
    ['every interface (listen(port), as the README)', 'addr-any', undefined],
    ['0.0.0.0', 'addr-any4', '0.0.0.0'],
  ])(
    'on %s: no address (the node is 127.0.0.1), checked at 127.0.0.1, reached by callers',
    async (_case, name, host) => {
      const adapter = start(name);
      const server = await adapter.listen(0, host);
      const { port } = server.address() as { port: number };
      expect(adapter.registration.registration).toMatchObject({
        Address: '',
        Port: port,
        Check: { HTTP: `http://127.0.0.1:${port}/health` },
      });
      const entry = await passing(name, adapter.registration.serviceId);
      expect([entry.Service.Address, entry.Node.Address]).toEqual(['', '127.0.0.1']);
      const answer = await adapter.fetch(`http://${name}/`);
      expect(await answer.json()).toEqual({ name });
    },
  );

  it('on ::1 only: advertised and checked at ::1 (not 127.0.0.1, where nothing listens)', async () => {
    const adapter = start('addr-v6-loopback');
    const server = await adapter.listen(0, '::1');
    const { port } = server.address() as { port: number };
    const entry = await passing('addr-v6-loopback', adapter.registration.serviceId);
    expect(entry.Service.Address).toBe('::1');
    expect(adapter.registration.registration?.Check?.HTTP).toBe(`http://[::1]:${port}/health`);
    const answer = await adapter.fetch('http://addr-v6-loopback/');
    expect(await answer.json()).toEqual({ name: 'addr-v6-loopback' });
  });
});

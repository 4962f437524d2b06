import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { uniqueService } from '../support/test-instance';

const SERVER_EVENTS = ['connection', 'secureConnection', 'request', 'listening', 'error'] as const;

function listenerCounts(server: Server): Record<string, number> {
  return Object.fromEntries(SERVER_EVENTS.map((event) => [event, server.listenerCount(event)]));
}

describe('attach() undoes everything when the start fails', () => {
  const adapters: ExpressConsul[] = [];
  let blocker: Server;
  let busyPort: number;

  beforeAll(async () => {
    blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    busyPort = (blocker.address() as { port: number }).port;
  });

  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
    blocker.close();
    await once(blocker, 'close');
  });

  function adapterFor(app: express.Application): ExpressConsul {
    const adapter = expressConsul(app, {
      service: { name: uniqueService('attach-rollback'), check: { intervalMs: 1_000 } },
      metrics: false,
      shutdown: { propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(adapter);
    return adapter;
  }

  it('after EADDRINUSE from listen(), the state is created again and a second listen() registers', async () => {
    const adapter = adapterFor(express());
    const signalListeners = process.listenerCount('SIGTERM');
    await expect(adapter.listen(busyPort, '127.0.0.1')).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    expect(adapter.state).toBe('created');
    expect(adapter.httpServer).toBeUndefined();
    expect(process.listenerCount('SIGTERM')).toBe(signalListeners);

    const server = await adapter.listen(0, '127.0.0.1');
    expect(adapter.state).toBe('running');
    expect(adapter.registration.state).toBe('registered');
    expect(adapter.registration.registration?.Port).toBe(
      (server.address() as { port: number }).port,
    );
  });

  it('a server of the caller that fails to listen keeps none of our listeners', async () => {
    const app = express();
    const adapter = adapterFor(app);
    const server = createServer(app);
    const before = listenerCounts(server);
    server.listen(busyPort, '127.0.0.1');
    await expect(adapter.attach(server)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(listenerCounts(server)).toEqual(before);
    expect(adapter.state).toBe('created');
  });

  it('a server bound to a Unix socket (no TCP port) is refused and left as it was', async () => {
    const app = express();
    const adapter = adapterFor(app);
    const dir = mkdtempSync(join(tmpdir(), 'express-consul-attach-'));
    const server = createServer(app);
    try {
      server.listen(join(dir, 'sock'));
      await once(server, 'listening');
      const before = listenerCounts(server);
      await expect(adapter.attach(server)).rejects.toThrow(/not bound to a TCP port/);
      expect(listenerCounts(server)).toEqual(before);
      expect(adapter.state).toBe('created');
      expect(adapter.httpServer).toBeUndefined();
    } finally {
      server.close();
      await once(server, 'close');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

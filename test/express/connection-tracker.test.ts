import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { Agent, request } from 'undici';
import { ConnectionTracker } from '../../src/express/connection-tracker';

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('ConnectionTracker (plain node:http on loopback)', () => {
  it('closes idle keep-alive sockets at once, lets in-flight requests finish, refuses new connections', async () => {
    let release: (() => void) | undefined;
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolveStarted) => {
      markStarted = resolveStarted;
    });
    const server: Server = createServer((req, res) => {
      if (req.url === '/slow') {
        release = () => res.end('slow');
        markStarted();
      } else res.end('fast');
    });
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    const dispatcher = new Agent({ keepAliveTimeout: 60_000 });

    const idle = await request(`http://127.0.0.1:${port}/fast`, { dispatcher });
    expect(await idle.body.text()).toBe('fast');
    const slow = request(`http://127.0.0.1:${port}/slow`, { dispatcher });
    await started;
    expect(tracker.inFlight).toBe(1);
    expect(tracker.connections).toBe(2);

    const drained = tracker.drain(Date.now() + 5_000);
    // The idle keep-alive socket goes first; the busy one stays for its request.
    await new Promise((r) => setImmediate(r));
    await expect(
      request(`http://127.0.0.1:${port}/fast`, { dispatcher: new Agent() }),
    ).rejects.toThrow();
    release!();
    const answer = await slow;
    expect(answer.statusCode).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(await answer.body.text()).toBe('slow');
    await expect(drained).resolves.toEqual({ abandonedRequests: 0 });
    expect(tracker.connections).toBe(0);
    await dispatcher.close();
  });

  it('cuts requests still running at the deadline and says how many', async () => {
    const server: Server = createServer(() => {
      /* never answers */
    });
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    const hanging = request(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    await new Promise<void>((r) => {
      const poll = (): void => (tracker.inFlight === 1 ? r() : void setTimeout(poll, 5));
      poll();
    });
    const result = await tracker.drain(Date.now() + 100);
    expect(result.abandonedRequests).toBe(1);
    expect(await hanging).toBeInstanceOf(Error);
  });
});

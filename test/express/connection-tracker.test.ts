import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Agent, request } from 'undici';
import { ConnectionTracker } from '../../src/express/connection-tracker';
import { selfSignedCert } from '../support/self-signed-cert';
import type { SelfSignedCert } from '../support/self-signed-cert';
import { waitFor } from '../../harness/wait-for';

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A handler whose `/slow` requests wait for `release()`; every other path answers `fast` at once. */
function slowAndFast(): {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  started: Promise<void>;
  release: () => void;
  /** The server-side socket of the last request seen per path. */
  socketOf: Map<string, Socket>;
  /** Server-side sockets that have emitted 'close' (after the tracker heard it). */
  closed: Set<Socket>;
} {
  let release: () => void = () => undefined;
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolveStarted) => {
    markStarted = resolveStarted;
  });
  const socketOf = new Map<string, Socket>();
  const closed = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (![...socketOf.values()].includes(req.socket))
      req.socket.once('close', () => closed.add(req.socket));
    socketOf.set(req.url ?? '', req.socket);
    if (req.url === '/slow') {
      release = () => res.end('slow');
      markStarted();
    } else res.end('fast');
  };
  return { handler, started, release: () => release(), socketOf, closed };
}

/** Releases the slow request, expects it answered in full with `Connection: close`, and the drain clean. */
async function releaseAndExpectAnswer(
  app: ReturnType<typeof slowAndFast>,
  slow: ReturnType<typeof request>,
  drained: Promise<unknown>,
): Promise<void> {
  app.release();
  const answer = await slow;
  expect(answer.statusCode).toBe(200);
  expect(answer.headers.connection).toBe('close');
  expect(await answer.body.text()).toBe('slow');
  await expect(drained).resolves.toEqual({ abandonedRequests: 0 });
}

describe('ConnectionTracker (plain node:http on loopback)', () => {
  it('closes idle keep-alive sockets at once, lets in-flight requests finish, refuses new connections', async () => {
    const app = slowAndFast();
    const server: Server = createServer(app.handler);
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    // One client per connection, so which socket is idle and which is busy is known.
    const idleClient = new Agent({ keepAliveTimeout: 60_000 });
    const busyClient = new Agent({ keepAliveTimeout: 60_000 });

    const idle = await request(`http://127.0.0.1:${port}/fast`, { dispatcher: idleClient });
    expect(await idle.body.text()).toBe('fast');
    const slow = request(`http://127.0.0.1:${port}/slow`, { dispatcher: busyClient });
    await app.started;
    expect(tracker.inFlight).toBe(1);
    expect(tracker.connections).toBe(2);
    const idleSocket = app.socketOf.get('/fast')!;
    const busySocket = app.socketOf.get('/slow')!;
    expect(idleSocket).not.toBe(busySocket);

    const drained = tracker.drain(AbortSignal.timeout(5_000));
    // The idle keep-alive socket goes first; the busy one stays for its request.
    await waitFor(
      'the idle keep-alive socket to close',
      () => app.closed.has(idleSocket) || undefined,
      {
        timeoutMs: 3_000,
        intervalMs: 10,
      },
    );
    expect(app.closed.has(busySocket)).toBe(false);
    expect(tracker.connections).toBe(1);
    await expect(
      request(`http://127.0.0.1:${port}/fast`, { dispatcher: new Agent() }),
    ).rejects.toThrow();
    await releaseAndExpectAnswer(app, slow, drained);
    expect(busySocket.destroyed).toBe(true);
    expect(tracker.connections).toBe(0);
    await Promise.all([idleClient.close(), busyClient.close()]);
  });

  it('cuts requests still running at the deadline and says how many', async () => {
    const server: Server = createServer(() => {
      /* never answers */
    });
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    const hanging = request(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    await waitFor('the request to arrive', () => tracker.inFlight === 1 || undefined, {
      intervalMs: 5,
    });
    const result = await tracker.drain(AbortSignal.timeout(100));
    expect(result.abandonedRequests).toBe(1);
    expect(await hanging).toBeInstanceOf(Error);
  });
});

describe('ConnectionTracker (node:https with a self-signed certificate)', () => {
  let cert: SelfSignedCert;
  beforeAll(() => {
    cert = selfSignedCert();
  });
  afterAll(() => cert.remove());

  function httpsClient(): Agent {
    return new Agent({ keepAliveTimeout: 60_000, connect: { rejectUnauthorized: false } });
  }

  it('forgets every connection once it closes', async () => {
    const app = slowAndFast();
    const server = createHttpsServer({ key: cert.key, cert: cert.cert }, app.handler);
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    for (let i = 0; i < 3; i += 1) {
      const client = httpsClient();
      const answer = await request(`https://127.0.0.1:${port}/fast`, { dispatcher: client });
      expect(await answer.body.text()).toBe('fast');
      expect(tracker.connections).toBe(1);
      await client.close();
      const socket = app.socketOf.get('/fast')!;
      await waitFor('the server side to close', () => app.closed.has(socket) || undefined, {
        timeoutMs: 3_000,
        intervalMs: 10,
      });
    }
    expect(tracker.connections).toBe(0);
    await expect(tracker.drain(AbortSignal.timeout(2_000))).resolves.toEqual({
      abandonedRequests: 0,
    });
  });

  it('lets a request in flight on a keep-alive TLS socket finish with 200 while idle ones close', async () => {
    const app = slowAndFast();
    const server = createHttpsServer({ key: cert.key, cert: cert.cert }, app.handler);
    const tracker = new ConnectionTracker(server);
    const port = await listening(server);
    const idleClient = httpsClient();
    const busyClient = httpsClient();

    // The busy socket served a request before, so it is a kept-alive socket when /slow arrives.
    const warm = await request(`https://127.0.0.1:${port}/fast`, { dispatcher: busyClient });
    expect(await warm.body.text()).toBe('fast');
    const slow = request(`https://127.0.0.1:${port}/slow`, { dispatcher: busyClient });
    await app.started;
    const busySocket = app.socketOf.get('/slow')!;
    const idle = await request(`https://127.0.0.1:${port}/fast`, { dispatcher: idleClient });
    expect(await idle.body.text()).toBe('fast');
    const idleSocket = app.socketOf.get('/fast')!;
    expect(idleSocket).not.toBe(busySocket);
    expect(tracker.inFlight).toBe(1);

    const drained = tracker.drain(AbortSignal.timeout(5_000));
    await waitFor('the idle TLS socket to close', () => app.closed.has(idleSocket) || undefined, {
      timeoutMs: 3_000,
      intervalMs: 10,
    });
    expect(app.closed.has(busySocket)).toBe(false);
    await releaseAndExpectAnswer(app, slow, drained);
    expect(tracker.connections).toBe(0);
    await Promise.all([idleClient.close(), busyClient.close()]);
  });
});

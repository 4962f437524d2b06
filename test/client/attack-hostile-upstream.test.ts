// Hostile upstreams and caller input against the request path: a limit holds whatever the
// upstream sends before its final answer, and input undici would refuse is the caller's
// ConfigError, never an UpstreamError blaming the instance.
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { AbortedError, ConfigError, RequestTimeoutError } from '../../src/errors';
import { entry, fixedDiscovery, stopAll, upstream } from './fixed-discovery';

const rawServers: Server[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(
    rawServers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

/** A loopback TCP server speaking whatever `onSocket` writes; its sockets are cut on teardown. */
async function rawUpstream(onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  const close = server.close.bind(server);
  server.close = (cb) => {
    sockets.forEach((s) => s.destroy());
    return close(cb);
  };
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

// Takes the call unstarted: the library's clock starts when it is called, and so must ours (its
// synchronous part, checks and the pick, would otherwise fall outside what is measured).
async function elapsedOf(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const startedAt = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - startedAt, error };
}

describe('an upstream that sends 1xx responses forever', () => {
  it('cannot hold a call past its deadline (a long limit, on undici’s own timer)', async () => {
    let informational = 0;
    const port = await rawUpstream((socket) => {
      socket.once('data', () => {
        // Each 102 restarts undici's headers timer: the final answer never comes.
        const timer = setInterval(() => {
          informational += 1;
          socket.write('HTTP/1.1 102 Processing\r\n\r\n');
        }, 100);
        socket.on('close', () => clearInterval(timer));
      });
    });
    const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', port)] });
    const deadlineMs = 10_500;
    const { ms, error } = await elapsedOf(() =>
      discovery.service('pay').request({ timeoutMs: 10_000, deadlineMs }),
    );
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(informational).toBeGreaterThan(50);
    // undici's coarse timers are not involved once a 1xx arrived: the attempt's own limit holds.
    expect(ms).toBeLessThan(deadlineMs + 500);
  }, 25_000);
});

describe('caller input undici refuses', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'a content-length that is not a number',
      { method: 'POST', body: 'x', headers: { 'content-length': 'abc' } },
      'request.headers.content-length',
    ],
    [
      'two content-length values',
      { method: 'POST', body: 'x', headers: { 'content-length': ['1', '1'] } },
      'request.headers.content-length',
    ],
    [
      'a content-length that is not the body’s',
      { method: 'POST', body: 'x', headers: { 'Content-Length': '100' } },
      'request.headers.Content-Length',
    ],
    ['CONNECT', { method: 'CONNECT' }, 'request.method'],
    ['connect, lower-cased', { method: 'connect' }, 'request.method'],
  ];
  it.each(cases)(
    '%s is a ConfigError naming the field, and nothing is sent',
    async (_what, call, field) => {
      const up = await upstream();
      const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
      const error = await discovery
        .service('pay')
        .request(call)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(field);
      expect(up.received).toBe(0);
    },
  );

  it('a content-length equal to the body’s byte length is sent', async () => {
    const up = await upstream((q, r) => {
      q.resume();
      q.on('end', () => r.end(q.headers['content-length']));
    });
    const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
    const answer = await discovery
      .service('pay')
      .request({ method: 'POST', body: 'é', headers: { 'content-length': '2' } });
    expect(await answer.body.text()).toBe('2');
  });

  it('an already-aborted signal sends nothing and says so', async () => {
    const up = await upstream();
    const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
    const error = await discovery
      .service('pay')
      .request({ signal: AbortSignal.abort() })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).mayHaveBeenProcessed).toBe(false);
    expect(up.received).toBe(0);
  });
});

describe('slow upstreams against a long limit', () => {
  it('an instance sending its headers a byte at a time cannot hold a call past its deadline', async () => {
    const port = await rawUpstream((socket) => {
      socket.once('data', () => {
        const head = `HTTP/1.1 200 OK\r\nx-slow: ${'a'.repeat(4000)}`;
        let i = 0;
        const timer = setInterval(() => socket.write(head[i++ % head.length] as string), 50);
        socket.on('close', () => clearInterval(timer));
      });
    });
    const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', port)] });
    const deadlineMs = 10_500;
    const { ms, error } = await elapsedOf(() =>
      discovery.service('pay').request({ timeoutMs: 10_000, deadlineMs }),
    );
    expect(error).toBeInstanceOf(RequestTimeoutError);
    // undici's coarse headers timer: up to about a second late (COARSE_TIMER_MIN_MS).
    expect(ms).toBeLessThan(deadlineMs + 1_500);
  }, 25_000);

  it('an instance reading a streamed body slowly cannot hold a call past its deadline', async () => {
    const port = await rawUpstream((socket) => {
      socket.pause();
      // A trickle: every read frees a little room, each write that fills it restarts undici's timer.
      const timer = setInterval(() => {
        socket.read(1024);
      }, 20);
      socket.on('close', () => clearInterval(timer));
    });
    const discovery = fixedDiscovery({ pay: [entry('pay', 'p1', port)] });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const body = new Readable({
      read() {
        this.push(chunk);
      },
    });
    const deadlineMs = 10_500;
    const { ms, error } = await elapsedOf(() =>
      discovery.service('pay').request({ method: 'POST', body, timeoutMs: 10_000, deadlineMs }),
    );
    body.destroy();
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(ms).toBeLessThan(deadlineMs + 1_500);
  }, 25_000);
});

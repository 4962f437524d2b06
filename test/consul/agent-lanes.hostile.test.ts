import { createSecureServer } from 'node:http2';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { H2_STREAMS } from '../../src/consul/connection-budget';
import { PROBE_SETTINGS_TIMEOUT_MS } from '../../src/consul/agent-lanes';
import { ConsulClient } from '../../src/consul/consul-client';
import { AbortedError, ConsulUnavailableError } from '../../src/errors';
import { selfSignedCert } from '../support/self-signed-cert';
import type { SelfSignedCert } from '../support/self-signed-cert';
import { waitFor } from '../../harness/wait-for';

// A hostile or odd agent in front of the lanes (issue #12): TLS servers written here with node:https
// and node:http2 play the peer, because what is under test is how our lanes react to a peer's
// protocol choices, which a real Consul agent never makes.
jest.setTimeout(30_000);

let cert: SelfSignedCert;
beforeAll(() => {
  cert = selfSignedCert();
});
afterAll(() => cert.remove());

/** An https server speaking HTTP/1.1 only (ALPN), counting its sockets and requests in flight. */
interface H1Agent {
  readonly address: string;
  readonly inFlight: () => number;
  readonly maxSockets: () => number;
  readonly sockets: () => number;
  close(): Promise<void>;
}

async function h1Agent(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<H1Agent> {
  const sockets = new Set<Socket>();
  let maxSockets = 0;
  let inFlight = 0;
  const server: Server = createHttpsServer(
    { key: cert.key, cert: cert.cert, ALPNProtocols: ['http/1.1'] },
    (request, response) => {
      inFlight += 1;
      response.on('close', () => (inFlight -= 1));
      handle(request, response);
    },
  );
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    maxSockets = Math.max(maxSockets, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight: () => inFlight,
    maxSockets: () => maxSockets,
    sockets: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An h2 server (no HTTP/1.1) advertising `maxConcurrentStreams`, counting its sessions. */
interface H2Agent {
  readonly address: string;
  readonly maxSessions: () => number;
  /** Sends `settings` on every open session; resolves when each has acknowledged them. */
  readonly settings: (settings: import('node:http2').Settings) => Promise<void>;
  close(): Promise<void>;
}

async function h2Agent(
  maxConcurrentStreams: number,
  handle: (request: Http2ServerRequest, response: Http2ServerResponse) => void,
): Promise<H2Agent> {
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  let maxSessions = 0;
  const server: Http2SecureServer = createSecureServer(
    { key: cert.key, cert: cert.cert, settings: { maxConcurrentStreams } },
    handle,
  );
  server.on('session', (session) => {
    sessions.add(session);
    maxSessions = Math.max(maxSessions, sessions.size);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    maxSessions: () => maxSessions,
    settings: async (settings) => {
      const acks = [...sessions]
        .filter((session) => !session.destroyed && !session.closed)
        .map(
          (session) =>
            new Promise<void>((resolve) => {
              try {
                session.settings(settings, () => resolve());
              } catch {
                resolve();
              }
              session.once('close', () => resolve());
            }),
        );
      await Promise.all(acks);
    },
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Blocking reads of the agent's own registration on the agent now. */
let following = 0;

/** The agent's own registration, blocking on `hash` for its wait; a register answers at once. */
function agentService(request: Http2ServerRequest, response: Http2ServerResponse): void {
  const url = new URL(request.url, 'http://agent');
  const waitMs = Number.parseInt(url.searchParams.get('wait') ?? '0', 10);
  if (waitMs > 0) {
    following += 1;
    response.on('close', () => (following -= 1));
  }
  const answer = (): void => {
    if (response.stream.destroyed) return;
    response.writeHead(200, { 'content-type': 'application/json', 'x-consul-contenthash': 'h1' });
    response.end(url.pathname === '/v1/agent/service/register' ? '' : '{"ID":"me","Service":"me"}');
  };
  if (waitMs > 0) {
    const timer = setTimeout(answer, waitMs);
    response.on('close', () => clearTimeout(timer));
  } else answer();
}

/** Blocking health reads on the h2 agent now. */
let echoing = 0;

/** Over h2: a blocking health read held for its wait; anything else answers `""` at once. */
function blockingEcho(request: Http2ServerRequest, response: Http2ServerResponse): void {
  const url = new URL(request.url, 'http://agent');
  const waitMs = Number.parseInt(url.searchParams.get('wait') ?? '0', 10);
  const answer = (): void => {
    if (response.stream.destroyed) return;
    response.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '7' });
    response.end(url.pathname.startsWith('/v1/health/') ? '[]' : '""');
  };
  if (waitMs > 0) {
    echoing += 1;
    response.on('close', () => (echoing -= 1));
    const timer = setTimeout(answer, waitMs);
    response.on('close', () => clearTimeout(timer));
  } else answer();
}

/** A blocking health read held for its `wait`, then an empty list; anything else `""` at once. */
function blockingHealth(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://agent');
  const waitMs = Number.parseInt(url.searchParams.get('wait') ?? '0', 10);
  const answer = (): void => {
    if (response.destroyed) return;
    response.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '7' });
    response.end(url.pathname.startsWith('/v1/health/') ? '[]' : '""');
  };
  if (waitMs > 0) {
    const timer = setTimeout(answer, waitMs);
    response.on('close', () => clearTimeout(timer));
  } else answer();
}

function client(address: string, maxConnections = 32): ConsulClient {
  return new ConsulClient({ address, tls: { ca: cert.cert }, maxConnections });
}

describe('agent lanes against a hostile or odd agent', () => {
  it('an agent that declines h2 while blocking queries open: every one is on the agent at once, within the budget', async () => {
    const agent = await h1Agent(blockingHealth);
    const consul = client(agent.address);
    const abort = new AbortController();
    const queries: Promise<unknown>[] = [];
    try {
      // 12 blocking queries before any connection: the plan is still h2 (4 watch connections,
      // 250 streams each). The agent answers HTTP/1.1, where one connection carries one at a time.
      for (let i = 0; i < 12; i++) {
        queries.push(
          consul
            .healthService(`svc-${i}`, { index: 5, waitMs: 10_000 }, { signal: abort.signal })
            .catch(() => undefined),
        );
      }
      await waitFor(
        '12 blocking queries on the agent at once',
        () => (agent.inFlight() === 12 ? true : undefined),
        { timeoutMs: 5_000 },
      );
      expect(consul.lanePlan.protocol).toBe('http/1.1');
      expect(agent.maxSockets()).toBeLessThanOrEqual(consul.connectionBudget.total);
    } finally {
      abort.abort();
      await Promise.all(queries);
      await consul.close();
      await agent.close();
    }
  });

  it('an agent that declines h2, a blocking query first: never more sockets than maxConnections', async () => {
    const agent = await h1Agent(blockingHealth);
    // 5: 2 short, 1 control, 1 watch and 1 poll connection over HTTP/1.1.
    const consul = client(agent.address, 5);
    const abort = new AbortController();
    const calls: Promise<unknown>[] = [];
    const blockingQuery = (i: number): void => {
      calls.push(
        consul
          .healthService(`svc-${i}`, { index: 5, waitMs: 10_000 }, { signal: abort.signal })
          .catch(() => undefined),
      );
    };
    try {
      // The first call, the one that meets the agent first, holds its connection for its wait.
      blockingQuery(0);
      await waitFor('the first blocking query on the agent', () =>
        agent.inFlight() === 1 ? true : undefined,
      );
      expect(consul.lanePlan.protocol).toBe('http/1.1');
      // Then every lane busy: blocking queries, reads, short calls.
      for (let i = 1; i < 4; i++) blockingQuery(i);
      calls.push(
        consul
          .kvGet('config', { index: 5, waitMs: 10_000 }, { signal: abort.signal })
          .catch(() => {}),
      );
      // The reads and short calls answered: the lanes' connections are open by now.
      const reads = Array.from({ length: 4 }, (_, i) => consul.healthService(`read-${i}`));
      await Promise.all([...reads, consul.statusLeader(), consul.statusLeader()]);
      // The first blocking query and the KV read each hold a connection (the 2nd to 4th queries
      // wait behind the first on the only watch connection).
      await waitFor('a blocking query on the watch and control lanes', () =>
        agent.inFlight() === 2 ? true : undefined,
      );
      expect(agent.maxSockets()).toBeLessThanOrEqual(5);
    } finally {
      abort.abort();
      await Promise.all(calls);
      await consul.close();
      await agent.close();
    }
  });

  it('an h2 agent allowing 1 stream per connection: the registration is not held behind its own blocking follow', async () => {
    const agent = await h2Agent(1, agentService);
    const consul = client(agent.address);
    const abort = new AbortController();
    // The registration's follow loop: a blocking read on the short lane for its whole wait.
    const follow = consul
      .getAgentService('me', { hash: 'h1', waitMs: 10_000, signal: abort.signal })
      .catch(() => undefined);
    try {
      await waitFor('the follow on the agent', () => (following > 0 ? true : undefined));
      const startedAt = Date.now();
      await consul.registerService({ ID: 'me', Name: 'me' });
      // Well under requestTimeoutMs (5 s), the bound the starved call hit before.
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      // The lanes carry what the agent allows: one stream each, on more connections.
      expect(consul.lanePlan).toMatchObject({
        protocol: 'h2',
        short: { connections: 4, pipelining: 1 },
        watch: { pipelining: 1 },
      });
      expect(agent.maxSessions()).toBeLessThanOrEqual(consul.connectionBudget.total);
    } finally {
      abort.abort();
      await follow;
      await consul.close();
      await agent.close();
    }
  });

  it('an h2 agent allowing 1 stream: the very first calls, follow and registration at once, both answered', async () => {
    const agent = await h2Agent(1, agentService);
    const consul = client(agent.address);
    const abort = new AbortController();
    try {
      // Both before any connection: sent on one connection before its SETTINGS were read, the
      // second stream was refused (NGHTTP2_REFUSED_STREAM).
      const follow = consul
        .getAgentService('me', { hash: 'h1', waitMs: 10_000, signal: abort.signal })
        .catch((error: unknown) => error);
      await consul.registerService({ ID: 'me', Name: 'me' });
      await waitFor('the follow on the agent', () => (following > 0 ? true : undefined));
      abort.abort();
      expect(await follow).toBeInstanceOf(AbortedError);
    } finally {
      abort.abort();
      await consul.close();
      await agent.close();
    }
  });

  it('an h2 agent allowing 0 streams: a typed error within the call timeout, no hang', async () => {
    const agent = await h2Agent(0, agentService);
    const consul = new ConsulClient({
      address: agent.address,
      tls: { ca: cert.cert },
      requestTimeoutMs: 1_000,
    });
    try {
      const startedAt = Date.now();
      const error = await consul.statusLeader().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConsulUnavailableError);
      expect(Date.now() - startedAt).toBeLessThan(3_000);
    } finally {
      await consul.close();
      await agent.close();
    }
  });

  it('an h2 agent shrinking its stream limit one by one, with blocking queries open: few rebuilds, within the budget', async () => {
    const agent = await h2Agent(H2_STREAMS, blockingEcho);
    const consul = client(agent.address);
    let rebuilds = 0;
    consul.onLanePlanChange(() => (rebuilds += 1));
    const abort = new AbortController();
    const queries: Promise<unknown>[] = [];
    const blockingQuery = (i: number): void => {
      queries.push(
        consul
          .healthService(`svc-${i}`, { index: 5, waitMs: 10_000 }, { signal: abort.signal })
          .catch(() => undefined),
      );
    };
    try {
      for (let i = 0; i < 20; i++) blockingQuery(i);
      await waitFor('20 blocking queries on the agent', () => (echoing === 20 ? true : undefined));
      for (let streams = H2_STREAMS - 1; streams >= 1; streams--) {
        await agent.settings({ maxConcurrentStreams: streams });
        // New calls meanwhile, on whatever plan is current.
        if (streams % 10 === 0) blockingQuery(1_000 + streams);
      }
      await waitFor('the plan at 1 stream', () =>
        consul.lanePlan.watch.pipelining === 1 ? true : undefined,
      );
      expect(rebuilds).toBeLessThanOrEqual(8);
      expect(agent.maxSessions()).toBeLessThanOrEqual(consul.connectionBudget.total);
      // Still answering: a short call on the new plan.
      await consul.statusLeader();
    } finally {
      abort.abort();
      await Promise.all(queries);
      await consul.close();
      await agent.close();
    }
  });

  it.each([
    ['never answers a byte', (socket: TLSSocket) => socket.on('data', () => {})],
    ['closes at once', (socket: TLSSocket) => socket.destroy()],
    [
      'speaks HTTP/1.1',
      (socket: TLSSocket) =>
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n""')),
    ],
    ['sends garbage', (socket: TLSSocket) => socket.end(Buffer.alloc(4_096, 0xff))],
  ])(
    'a peer that picks h2 by ALPN, then %s: a typed error within the call timeout',
    async (_what, behave) => {
      const sockets = new Set<TLSSocket>();
      const server = createTlsServer(
        { key: cert.key, cert: cert.cert, ALPNProtocols: ['h2'] },
        (socket) => {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => sockets.delete(socket));
          behave(socket);
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const consul = new ConsulClient({
        address: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        tls: { ca: cert.cert },
        requestTimeoutMs: 1_500,
      });
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const startedAt = Date.now();
          const error = await consul.statusLeader().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(ConsulUnavailableError);
          // The call's own timeout (1.5 s) bounds it, the wait for the agent's SETTINGS included.
          expect(Date.now() - startedAt).toBeLessThan(2_500);
        }
      } finally {
        await consul.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it('close() while the protocol is being learnt from a silent h2 peer: its connection closes at once', async () => {
    const sockets = new Set<TLSSocket>();
    const server = createTlsServer(
      { key: cert.key, cert: cert.cert, ALPNProtocols: ['h2'] },
      (socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
        socket.on('data', () => {});
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const consul = new ConsulClient({
      address: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tls: { ca: cert.cert },
    });
    try {
      const call = consul.statusLeader().catch((error: unknown) => error);
      await waitFor('the probe connected', () => (sockets.size === 1 ? true : undefined));
      const closedAt = Date.now();
      await consul.close();
      await waitFor('no connection left', () => (sockets.size === 0 ? true : undefined), {
        intervalMs: 10,
      });
      // Not held until the wait for SETTINGS (PROBE_SETTINGS_TIMEOUT_MS, 1 s) ran out.
      expect(Date.now() - closedAt).toBeLessThan(PROBE_SETTINGS_TIMEOUT_MS / 2);
      expect(await call).toBeInstanceOf(Error);
    } finally {
      await consul.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

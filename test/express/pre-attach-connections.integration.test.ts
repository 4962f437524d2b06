import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { selfSignedCert } from '../support/self-signed-cert';
import type { SelfSignedCert } from '../support/self-signed-cert';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

// close() after attach() to a server that was already serving: connections accepted before
// attach() are invisible to the adapter's 'connection' listener, yet the drain deadline must hold
// for them too, over http and https, against the real dev agent (attach() registers).

const DRAIN_TIMEOUT_MS = 1_500;
/** What "the deadline holds" means here: close() resolves at most this long after drainTimeoutMs. */
const OVERRUN_MS = 250;
/** How long the test waits for close() before calling it hung (far past the bound it checks). */
const HUNG_AFTER_MS = DRAIN_TIMEOUT_MS + 8_000;

type Scheme = 'http' | 'https';

interface Setup {
  readonly consul: ExpressConsul;
  readonly server: Server;
  readonly port: number;
  /** Resolves once `count` requests have reached the app. */
  readonly arrived: (count: number) => Promise<unknown>;
}

describe.each<Scheme>(['http', 'https'])('connections accepted before attach() (%s)', (scheme) => {
  let cert: SelfSignedCert;
  const clients: Socket[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(() => {
    cert = selfSignedCert();
  });
  afterAll(() => cert.remove());
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setUp(drainTimeoutMs = DRAIN_TIMEOUT_MS): Promise<Setup> {
    const app = express();
    let arrived = 0;
    app.use((_request, _response, next) => {
      arrived += 1;
      next();
    });
    app.get('/hang', () => undefined);
    app.get('/slow', (request, response) => {
      setTimeout(() => response.send('slow done'), Number(request.query.ms));
    });
    const consul = expressConsul(app, {
      service: { name: uniqueService(`pre-attach-${scheme}`), check: { tls: { verify: false } } },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs },
    });
    const server =
      scheme === 'https'
        ? createHttpsServer({ key: cert.key, cert: cert.cert }, app)
        : createHttpServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      await consul.close();
      if (server.listening) {
        server.closeAllConnections();
        server.close();
      }
    });
    return {
      consul,
      server,
      port: (server.address() as { port: number }).port,
      arrived: (count) =>
        waitFor(`${count} request(s) in the app`, () => (arrived >= count ? true : undefined), {
          intervalMs: 10,
        }),
    };
  }

  /** A raw client connection (TLS done for https), open before attach(). */
  async function connect(port: number): Promise<Socket> {
    const socket =
      scheme === 'https'
        ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false })
        : connectTcp(port, '127.0.0.1');
    clients.push(socket);
    socket.on('error', () => undefined);
    await once(socket, scheme === 'https' ? 'secureConnect' : 'connect');
    return socket;
  }

  /** Runs close() and resolves with how long it took, or with Infinity when it hung. */
  async function timeClose(consul: ExpressConsul): Promise<number> {
    const startedAt = Date.now();
    let tookMs: number | undefined;
    void consul.close().then(() => {
      tookMs = Date.now() - startedAt;
    });
    try {
      return await waitFor('close() to resolve', () => tookMs, {
        timeoutMs: HUNG_AFTER_MS,
        intervalMs: 10,
      });
    } catch {
      return Infinity;
    }
  }

  it('a request in flight since before attach() is cut at drainTimeoutMs', async () => {
    const { consul, server, port, arrived } = await setUp();
    const client = await connect(port);
    client.write('GET /hang HTTP/1.1\r\nHost: test\r\n\r\n');
    await arrived(1);
    await consul.attach(server);
    const closed = once(client, 'close');
    const closeMs = await timeClose(consul);
    expect(closeMs).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 50);
    expect(closeMs).toBeLessThan(DRAIN_TIMEOUT_MS + OVERRUN_MS);
    await closed;
    expect(server.listening).toBe(false);
  });

  it('a client that never finishes its headers (connected before attach()) is cut at drainTimeoutMs', async () => {
    const { consul, server, port } = await setUp();
    const client = await connect(port);
    client.write('GET /slow?ms=1 HTTP/1.1\r\nHost: test\r\n');
    await consul.attach(server);
    const closed = once(client, 'close');
    const closeMs = await timeClose(consul);
    expect(closeMs).toBeLessThan(DRAIN_TIMEOUT_MS + OVERRUN_MS);
    await closed;
  });

  it('a request from before attach() that ends in time is answered, and close() does not wait for the deadline', async () => {
    const drainTimeoutMs = 4_000;
    const { consul, server, port, arrived } = await setUp(drainTimeoutMs);
    const client = await connect(port);
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    // Keep-alive (HTTP/1.1's default): after its answer the socket stays open unless the drain ends it.
    client.write('GET /slow?ms=300 HTTP/1.1\r\nHost: test\r\n\r\n');
    await arrived(1);
    await consul.attach(server);
    const closed = once(client, 'close');
    const closeMs = await timeClose(consul);
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain('slow done');
    // It ended with the request (300 ms) plus a little, far from the 4 s deadline.
    expect(closeMs).toBeLessThan(drainTimeoutMs / 2);
  });

  it('an idle keep-alive connection from before attach() does not hold close()', async () => {
    const drainTimeoutMs = 4_000;
    const { consul, server, port } = await setUp(drainTimeoutMs);
    const client = await connect(port);
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    client.write('GET /slow?ms=1 HTTP/1.1\r\nHost: test\r\n\r\n');
    await waitFor('the answer', () => (received.includes('slow done') ? true : undefined));
    await consul.attach(server);
    const closed = once(client, 'close');
    const closeMs = await timeClose(consul);
    await closed;
    expect(closeMs).toBeLessThan(drainTimeoutMs / 2);
  });
});

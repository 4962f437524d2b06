import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, constants as http2constants } from 'node:http2';
import type { ClientHttp2Stream } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:tls';
import type { Server } from 'node:tls';
import type { Settings } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsulClient } from '../../src/consul/consul-client';
import { H2_AGENT_STREAMS, H2_STREAMS } from '../../src/consul/connection-budget';
import { WatcherRegistry } from '../../src/watch/watcher-registry';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { createTlsFiles } from '../../src/testing/consul-process';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import { agentCall, socketsTo } from '../../harness/scale/scale-support';
import { waitFor } from '../../harness/wait-for';

// HTTP/2 to an https agent (issue #12): negotiated by ALPN and known for sure, many blocking
// queries as streams of few connections, the slot count following the protocol, and HTTP/1.1
// exactly as before when h2 is declined or not offered. Consul's Go server always accepts h2 (its
// GODEBUG=http2server=0 has no effect on it), so the agent that declines it is the same agent behind
// a TLS terminator that only speaks HTTP/1.1, as an older load balancer in front of Consul is.
jest.setTimeout(60_000);

let dir: string;
let files: Awaited<ReturnType<typeof createTlsFiles>>;
let agent: StartedConsul;
let terminator: Server;
const piped = new Set<Socket>();

/** The https address of the HTTP/1.1-only TLS terminator in front of the agent's http port. */
let h1Address: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'express-consul-h2-'));
  files = await createTlsFiles(findConsulBinary()!, dir, 'dc1');
  agent = await startConsul({ mode: 'binary', tls: files });
  terminator = createServer(
    {
      key: readFileSync(files.keyFile),
      cert: readFileSync(files.certFile),
      ALPNProtocols: ['http/1.1'],
    },
    (socket) => {
      const upstream = tcpConnect(Number(new URL(agent.address).port), '127.0.0.1');
      for (const s of [socket, upstream]) {
        piped.add(s);
        s.on('close', () => piped.delete(s));
        s.on('error', () => {});
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    },
  );
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  h1Address = `https://127.0.0.1:${(terminator.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of piped) socket.destroy();
  await new Promise((resolve) => terminator?.close(resolve));
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const portOf = (address: string): number => Number(new URL(address).port);

function client(address: string, http2?: boolean): ConsulClient {
  return new ConsulClient({
    address,
    tls: { ca: readFileSync(files.caFile, 'utf8'), serverName: 'localhost' },
    ...(http2 !== undefined && { http2 }),
  });
}

/** Blocking reads of `name` from its current index, held until `signal` aborts. */
async function holdBlocking(
  consul: ConsulClient,
  name: string,
  count: number,
  signal: AbortSignal,
): Promise<Promise<unknown>[]> {
  const first = await consul.healthService(name);
  return Array.from({ length: count }, () =>
    consul
      .healthService(name, { index: first.meta.index ?? 1, waitMs: 30_000 }, { signal })
      .catch(() => undefined),
  );
}

async function socketsReach(port: number, count: number): Promise<number> {
  // Bounded: sockets open within 5 s or the assertion after this reports how many did.
  const deadline = Date.now() + 5_000;
  while (socketsTo(port) < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return socketsTo(port);
}

test(`Consul 1.16.3 advertises ${H2_AGENT_STREAMS} streams per h2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)`, async () => {
  const session = connect(agent.https!.address, { ca: readFileSync(files.caFile, 'utf8') });
  try {
    const settings = await new Promise<Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    expect(settings.maxConcurrentStreams).toBe(H2_AGENT_STREAMS);
    expect(H2_STREAMS).toBe(H2_AGENT_STREAMS);
  } finally {
    session.close();
  }
});

// What lanePlan's H2_STREAMS (no margin) rests on: a stream the client resets frees its place on the
// agent at once, although a blocking query does not end early by itself. With every place taken
// the 251st stream waits for the blocking ones' wait; with 20 reset, 19 new blocking streams and a
// read fit again and the read is answered without waiting.
test.each([
  [0, 1, 'waits'],
  [20, 0, 'is answered at once'],
])(
  `h2: %i of ${H2_AGENT_STREAMS} blocking streams reset, %i more: a read %s`,
  async (reset, extra, expectation) => {
    const name = `reset-${process.pid}-${reset}`;
    await agentCall(agent.address, 'PUT', '/v1/agent/service/register', {
      Name: name,
      ID: name,
      Port: 1,
    });
    const session = connect(agent.https!.address, {
      ca: readFileSync(files.caFile, 'utf8'),
      servername: 'localhost',
    });
    session.on('error', () => {});
    const open = (path: string): ClientHttp2Stream => {
      const stream = session.request({ ':path': path });
      stream.on('error', () => {});
      stream.resume();
      return stream;
    };
    const answered = (stream: ClientHttp2Stream): Promise<Record<string, unknown>> =>
      new Promise((resolve) => stream.once('response', resolve));
    try {
      const index = (await answered(open(`/v1/health/service/${name}`)))['x-consul-index'];
      const blockingPath = `/v1/health/service/${name}?index=${String(index)}&wait=6s`;
      const held = Array.from({ length: H2_AGENT_STREAMS }, () => open(blockingPath));
      // Every blocking stream reached the agent's handler (its wait runs) before some are reset.
      await waitFor('the blocking streams to be open', () =>
        session.state.localWindowSize !== undefined && held.every((s) => s.id !== undefined)
          ? true
          : undefined,
      );
      for (const stream of held.slice(0, reset)) stream.close(http2constants.NGHTTP2_CANCEL);
      const more = Array.from({ length: reset - 1 + extra }, () => open(blockingPath));
      const started = Date.now();
      await answered(open('/v1/agent/self'));
      const tookMs = Date.now() - started;
      process.stdout.write(`h2: ${reset} reset, read took ${tookMs} ms\n`);
      if (expectation === 'waits') expect(tookMs).toBeGreaterThan(3_000);
      else expect(tookMs).toBeLessThan(1_000);
      for (const stream of [...held, ...more]) stream.close(http2constants.NGHTTP2_CANCEL);
    } finally {
      session.close();
      await agentCall(agent.address, 'PUT', `/v1/agent/service/deregister/${name}`);
    }
  },
);

test('h2 with a TLS agent: known after the first call; 300 blocking queries on a few connections; registration and KV not held up', async () => {
  const consul = client(agent.https!.address);
  const name = `h2-${process.pid}`;
  const blocking = new AbortController();
  setMaxListeners(400, blocking.signal);
  let held: Promise<unknown>[] = [];
  try {
    expect(consul.protocol).toBeUndefined();
    expect(await consul.statusLeader()).not.toBe('');
    expect(consul.protocol).toBe('h2');
    expect(consul.lanePlan).toMatchObject({
      protocol: 'h2',
      watch: { connections: 4, pipelining: H2_STREAMS },
      poll: { connections: 0 },
      short: { connections: 1 },
    });

    await consul.registerService({ Name: name, ID: name, Port: 1 });
    held = await holdBlocking(consul, name, 300, blocking.signal);
    // 300 streams fill one watch connection (250) and part of a second: never one each.
    const port = portOf(agent.https!.address);
    const open = await socketsReach(port, 3);
    expect(open).toBeGreaterThanOrEqual(3);
    expect(open).toBeLessThanOrEqual(1 + 1 + 4);

    // The short lane's one connection also holds the registration's blocking follow: a PUT and a
    // KV write must not wait behind it (undici holds a non-idempotent request off a busy one).
    const follow = await consul.getAgentService(name);
    const followed = consul
      .getAgentService(name, {
        hash: follow?.contentHash ?? '',
        waitMs: 30_000,
        signal: blocking.signal,
      })
      .catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const started = Date.now();
    await consul.registerService({ Name: name, ID: name, Port: 2, Tags: ['again'] });
    expect(await consul.kvAcquire(`h2/${name}`, await session(consul), 'v')).toBe(true);
    const kv = await consul.kvGet(`h2/${name}`);
    expect(kv.data[0]?.Value).toBe('"v"');
    // Far below the blocking calls' 30 s wait: nothing queued behind them.
    expect(Date.now() - started).toBeLessThan(10_000);
    blocking.abort();
    await Promise.all([...held, followed]);
    expect(socketsTo(port)).toBeLessThanOrEqual(1 + 1 + 4);
  } finally {
    blocking.abort();
    await Promise.all(held);
    await consul.close();
    await agentCall(agent.address, 'PUT', `/v1/agent/service/deregister/${name}`);
  }
});

async function session(consul: ConsulClient): Promise<string> {
  return consul.sessionCreate({
    Name: 'h2-test',
    NodeChecks: [],
    ServiceChecks: [],
    LockDelay: '0s',
    Behavior: 'delete',
    TTL: '30s',
  });
}

test.each([
  ['an HTTP/1.1-only TLS terminator', () => client(h1Address), () => h1Address],
  ['http2: false', () => client(agent.https!.address, false), () => agent.https!.address],
])(
  'HTTP/1.1 over TLS with %s: one blocking query per connection, as over http',
  async (_label, make, address) => {
    const consul = make();
    const name = `h1-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const blocking = new AbortController();
    let held: Promise<unknown>[] = [];
    try {
      await consul.registerService({ Name: name, ID: name, Port: 1 });
      expect(consul.protocol).toBe('http/1.1');
      expect(consul.lanePlan).toMatchObject({
        protocol: 'http/1.1',
        watch: { connections: 22, pipelining: 1 },
      });
      held = await holdBlocking(consul, name, 3, blocking.signal);
      // Three blocking queries on three connections of the watch lane (and the poll lane's).
      const port = portOf(address());
      expect(await socketsReach(port, 4)).toBeGreaterThanOrEqual(4);
      // None queued behind another: a change answers all three, far within their 30 s wait.
      const started = Date.now();
      await consul.registerService({ Name: name, ID: name, Port: 2 });
      const answers = (await Promise.all(held)) as { data: { Service: { Port: number } }[] }[];
      for (const answer of answers) expect(answer.data[0]?.Service.Port).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      blocking.abort();
      await Promise.all(held);
      await consul.close();
      await agentCall(agent.address, 'PUT', `/v1/agent/service/deregister/${name}`);
    }
  },
);

test('the slot count follows the protocol: every watch slotted over h2, 21 over HTTP/1.1', async () => {
  const h2 = client(agent.https!.address);
  const h1 = client(agent.https!.address, false);
  const plain = new ConsulClient({ address: agent.address });
  const registries = [h2, h1, plain].map((c) => new WatcherRegistry(c));
  try {
    const names = Array.from({ length: 300 }, (_, i) => `slots-${i}`);
    for (const registry of registries) for (const name of names) registry.acquire(name);
    const [overH2, overH1, overHttp] = registries.map((r) => r.schedulerStatus());
    expect(overH2).toMatchObject({ slotted: 300, polled: 0 });
    // 32: 4 short, 4 control, 24 watch of which 2 poll, and 1 check watch: 21 slots, as over http.
    expect(overH1).toMatchObject({ slotted: 21, polled: 279 });
    expect(overHttp).toMatchObject({ slotted: overH1!.slotted, polled: overH1!.polled });
    await h2.statusLeader();
    expect(h2.protocol).toBe('h2');
    expect(registries[0]!.schedulerStatus()).toMatchObject({ slotted: 300 });
  } finally {
    await Promise.all(registries.map((r) => r.close()));
    await Promise.all([h2.close(), h1.close(), plain.close()]);
  }
});

test('an h2 plan falls back when the agent answers HTTP/1.1: the slots shrink at once', async () => {
  const consul = client(h1Address);
  const registry = new WatcherRegistry(consul);
  try {
    for (let i = 0; i < 100; i++) registry.acquire(`fallback-${i}`);
    // Before any connection the plan is h2 (what Consul's Go server picks).
    expect(registry.schedulerStatus()).toMatchObject({ slotted: 100 });
    await consul.statusLeader();
    expect(consul.protocol).toBe('http/1.1');
    expect(consul.lanePlan.protocol).toBe('http/1.1');
    expect(registry.schedulerStatus()?.slotted).toBeLessThanOrEqual(21);
  } finally {
    await registry.close();
    await consul.close();
  }
});

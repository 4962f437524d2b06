// ConsulClient's per-call deadline (resilience/deadline.ts) against a loopback server that accepts
// and never answers: the deadline's own expiry is told from the caller's abort, even when the
// caller's reason is itself a TimeoutError.
import { getEventListeners } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConsulClient } from '../../src/consul/consul-client';
import { AbortedError, ConsulUnavailableError } from '../../src/errors';

const TIMEOUT_MS = 300;

let server: Server;
const sockets = new Set<Socket>();
let client: ConsulClient;

beforeEach(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new ConsulClient({ address: `http://127.0.0.1:${port}`, requestTimeoutMs: TIMEOUT_MS });
});

afterEach(async () => {
  await client.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ConsulClient call deadline', () => {
  it('fails a call nobody answers with ConsulUnavailableError at requestTimeoutMs', async () => {
    const started = performance.now();
    const error = await client.statusLeader().catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    expect(error).toBeInstanceOf(ConsulUnavailableError);
    expect((error as Error).message).toContain(`no answer within ${TIMEOUT_MS} ms`);
    expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
  });

  it("reports the caller's abort as AbortedError, also when its reason is a TimeoutError", async () => {
    const caller = new AbortController();
    const pending = client.statusLeader({ signal: caller.signal }).catch((e: unknown) => e);
    caller.abort(new DOMException('the caller timed out', 'TimeoutError'));
    const error = await pending;
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as Error).message).not.toContain('no answer within');
  });

  it("leaves no listener on the caller's signal once a call has ended", async () => {
    const caller = new AbortController();
    await client.statusLeader({ signal: caller.signal }).catch(() => undefined);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});

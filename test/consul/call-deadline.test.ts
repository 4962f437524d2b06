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
let address: string;

beforeEach(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  address = `http://127.0.0.1:${port}`;
  client = new ConsulClient({ address, requestTimeoutMs: TIMEOUT_MS });
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

  describe('a call waiting in undici for a connection (every one of its lane taken)', () => {
    // maxConnections 5: the watch lane has one connection for blocking queries.
    // A blocking query nobody answers holds it for its whole wait; undici keeps the next call
    // queued, and an aborted request it has not yet written is only failed when it would be,
    // i.e. after the blocking query ends. The call's own deadline and signal must not wait that.
    let narrow: ConsulClient;
    let holder: Promise<'holder'>;

    beforeEach(() => {
      narrow = new ConsulClient({ address, requestTimeoutMs: TIMEOUT_MS, maxConnections: 5 });
      holder = narrow.healthService('held', { index: 7, waitMs: 3_000 }).then(
        () => 'holder' as const,
        () => 'holder' as const,
      );
    });

    afterEach(async () => {
      await narrow.close();
      await holder;
    });

    it('fails at its own deadline, before the blocking query that holds the connection ends', async () => {
      // A 10 ms wait: its deadline (the wait, Consul's jitter, requestTimeoutMs) ends long
      // before the holder's.
      const queued = narrow.healthService('queued', { index: 3, waitMs: 10 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const first = await Promise.race([holder, queued]);
      expect(first).toBeInstanceOf(ConsulUnavailableError);
      expect((first as Error).message).toContain('no answer within');
    });

    it("fails at the caller's abort, before the blocking query that holds the connection ends", async () => {
      const caller = new AbortController();
      const queued = narrow
        .healthService('queued', { index: 3, waitMs: 60_000 }, { signal: caller.signal })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      setImmediate(() => caller.abort());
      const first = await Promise.race([holder, queued]);
      expect(first).toBeInstanceOf(AbortedError);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    });
  });
});

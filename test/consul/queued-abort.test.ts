// Calls aborted while undici keeps them queued behind a lane's busy connections (a blocking query,
// or pipelined reads nobody has answered yet), then the lane frees: what the aborted calls cost
// the calls after them. A loopback HTTP/1.1 server of its own (node:http answers one pipelined
// request at a time, so it would never see the requests in flight behind the first): it holds the
// requests the test names until the test answers them, in order on each connection.
import { getEventListeners, setMaxListeners } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ConsulClient } from '../../src/consul/consul-client';
import { AbortedError } from '../../src/errors';

const QUEUED = 300;
const HEADERS =
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-consul-index: 9\r\n' +
  'content-length: 2\r\n\r\n';
const BODY = '[]';

/** A request the server has read: answered at once, or when the test calls `answer`. */
interface Seen {
  readonly url: string;
  /** Sends the answer's headers (in order on its connection), not its body. */
  headers(): void;
  answer(): void;
}

let server: Server;
let client: ConsulClient;
const sockets = new Set<Socket>();
let connections = 0;
let seen: Seen[] = [];
/** The requests whose path starts with one of these wait for the test. */
const HELD = ['/v1/health/service/held', '/v1/health/service/slow-'];

beforeEach(async () => {
  connections = 0;
  seen = [];
  server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    const pending: { headers: boolean; body: boolean; headersSent: boolean }[] = [];
    const flush = (): void => {
      for (let head = pending[0]; head?.headers; head = pending[0]) {
        if (!head.headersSent && !socket.destroyed) socket.write(HEADERS);
        head.headersSent = true;
        if (!head.body) return;
        pending.shift();
        if (!socket.destroyed) socket.write(BODY);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const url = buffered.slice(0, end).split(' ')[1] ?? '';
        buffered = buffered.slice(end + 4);
        const slot = { headers: false, body: false, headersSent: false };
        pending.push(slot);
        const headers = (): void => {
          slot.headers = true;
          flush();
        };
        const answer = (): void => {
          slot.headers = slot.body = true;
          flush();
        };
        seen.push({ url, headers, answer });
        if (!HELD.some((prefix) => url.startsWith(prefix))) answer();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // maxConnections 5: the watch lane has one HTTP/1.1 connection.
  client = new ConsulClient({
    address: `http://127.0.0.1:${port}`,
    requestTimeoutMs: 5_000,
    maxConnections: 5,
  });
});

afterEach(async () => {
  await client.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The requests the server has read whose path contains `part`. */
function seenWith(part: string): Seen[] {
  return seen.filter((request) => request.url.includes(part));
}

/** Yields to the event loop until `ready()`, at most `turns` times. */
async function turnsUntil(ready: () => boolean, turns = 500): Promise<void> {
  for (let i = 0; i < turns && !ready(); i++) await new Promise((r) => setImmediate(r));
}

describe('calls aborted while queued behind a busy lane', () => {
  it('cost the lane no new connection each, once it frees, and the next call is answered', async () => {
    const holder = client.healthService('held', { index: 7, waitMs: 20_000 });
    // The holder is on the wire before the others queue behind it.
    await turnsUntil(() => seenWith('held').length === 1);
    expect(seenWith('held')).toHaveLength(1);
    const caller = new AbortController();
    setMaxListeners(QUEUED + 10, caller.signal);
    const queued = Array.from({ length: QUEUED }, (_, i) =>
      client
        .healthService(`queued-${i}`, { index: 3, waitMs: 20_000 }, { signal: caller.signal })
        .catch((error: unknown) => error),
    );
    caller.abort();
    const errors = await Promise.all(queued);
    expect(errors.every((e) => e instanceof AbortedError)).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);

    const before = connections;
    seenWith('held')[0]!.answer();
    await holder;
    const live = await client.healthService('live', { index: 3, waitMs: 1_000 });
    expect(live.data).toEqual([]);
    // None of the aborted ones reached the agent, and they did not each cost a connection.
    expect(seenWith('queued-')).toEqual([]);
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it('on a pipelined poll connection, do not break the read whose answer is coming on it', async () => {
    const { connections: pollConnections, pipelining } = client.lanePlan.poll;
    expect(pipelining).toBeGreaterThan(1);
    // Every poll connection taken by a read the server holds: the next ones queue in undici.
    const reads = Array.from({ length: pollConnections }, (_, i) =>
      client.healthService(`slow-${i}`).then(
        (result) => result.data,
        (error: unknown) => error,
      ),
    );
    await turnsUntil(() => seenWith('slow-').length === pollConnections);
    expect(seenWith('slow-')).toHaveLength(pollConnections);
    const caller = new AbortController();
    const queued = Array.from({ length: pollConnections }, (_, i) =>
      client.healthService(`queued-${i}`, {}, { signal: caller.signal }).catch((e: unknown) => e),
    );
    caller.abort();
    expect((await Promise.all(queued)).every((e) => e instanceof AbortedError)).toBe(true);

    // The answers' headers: undici pipelines the next queued request (an aborted one) on each
    // connection while the body of the answer before it is still to come.
    const before = connections;
    for (const request of seenWith('slow-')) request.headers();
    await turnsUntil(() => connections > before, 50);
    for (const request of seenWith('slow-')) request.answer();
    expect(await Promise.all(reads)).toEqual(reads.map(() => []));
    const live = await client.healthService('live');
    expect(live.data).toEqual([]);
    // Each held read reached the server once, and its connection lived on.
    expect(seenWith('slow-')).toHaveLength(pollConnections);
    expect(seenWith('queued-')).toEqual([]);
    expect(connections - before).toBe(0);
  });
});

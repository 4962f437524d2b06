// close() while a call waits for the agent's protocol to be learnt (https with h2 offered): the
// probe connection's TLS handshake is still under way, against a loopback server that accepts
// and never answers. The call must end at close(), not at its deadline.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ConsulClient } from '../../src/consul/consul-client';
import { ClosedError } from '../../src/errors';

const TIMEOUT_MS = 4_000;

let server: Server;
const sockets = new Set<Socket>();
let accepted = 0;

beforeEach(async () => {
  accepted = 0;
  server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    // Read (and drop) what comes: a paused socket would never see the peer's end.
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('ends a call waiting for the protocol probe with ClosedError at close()', async () => {
  const { port } = server.address() as AddressInfo;
  const client = new ConsulClient({
    address: `https://127.0.0.1:${port}`,
    requestTimeoutMs: TIMEOUT_MS,
    http2: true,
  });
  const started = performance.now();
  const call = client.statusLeader().catch((error: unknown) => error);
  for (let i = 0; i < 500 && accepted === 0; i++) await new Promise((r) => setImmediate(r));
  expect(accepted).toBe(1);
  await client.close();
  const error = await call;
  const tookMs = performance.now() - started;
  expect(error).toBeInstanceOf(ClosedError);
  expect(tookMs).toBeLessThan(TIMEOUT_MS / 4);
  // The probe's connection is not left open either.
  for (let i = 0; i < 500 && sockets.size > 0; i++) await new Promise((r) => setImmediate(r));
  expect(sockets.size).toBe(0);
});

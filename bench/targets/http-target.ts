/**
 * One benchmark target process: plain `node:http` servers on 127.0.0.1 answering every request
 * with the same small body over keep-alive connections. Runs in its own process (started by
 * bench/request/target-fleet.ts through an IPC channel) so its CPU never counts as the client's.
 *
 * One process can listen on several loopback addresses (`--hosts=127.10.0.1,127.10.0.2`, port 0
 * each), so a fleet of 1,000 Consul instances needs a handful of processes, and each instance still
 * has an address of its own. Distinct addresses, not only distinct ports: HAProxy 2.6 leaves a
 * server-template slot unresolved when two SRV records share one target host. Every answer names
 * the instance it arrived at (`x-instance: host:port`) and when (`x-arrived-at`, ms since the
 * epoch with a fraction), which is how the propagation benchmark knows which instance a request
 * reached.
 * `--delay-ms=D` answers after D ms; `--slow-fraction=F --slow-ms=S` adds S ms to a fraction F.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';

const BODY = Buffer.from('{"ok":true}');

function numberArg(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

const HOSTS = (process.argv.find((a) => a.startsWith('--hosts='))?.slice(8) ?? '127.0.0.1').split(
  ',',
);
const DELAY_MS = numberArg('delay-ms', 0);
const SLOW_FRACTION = numberArg('slow-fraction', 0);
const SLOW_MS = numberArg('slow-ms', 0);

function answer(res: ServerResponse, instance: string, arrivedAt: number): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': BODY.length,
    'x-instance': instance,
    'x-arrived-at': arrivedAt.toFixed(3),
  });
  res.end(BODY);
}

function listen(host: string): Promise<{ server: Server; port: number }> {
  let instance = '';
  const server = createServer((req, res) => {
    const arrivedAt = performance.timeOrigin + performance.now();
    const extra = SLOW_FRACTION > 0 && Math.random() < SLOW_FRACTION ? SLOW_MS : 0;
    const wait = DELAY_MS + extra;
    if (wait > 0) setTimeout(answer, wait, res, instance, arrivedAt);
    else answer(res, instance, arrivedAt);
    req.resume();
  });
  // Longer than any client's idle timeout, so clients, not the server, decide when sockets close.
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) =>
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      instance = `${host}:${port}`;
      resolve({ server, port });
    }),
  );
}

let servers: Server[] = [];
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  let open = servers.length;
  if (open === 0) process.exit(0);
  for (const server of servers) {
    server.closeAllConnections();
    server.close(() => {
      open -= 1;
      if (open === 0) process.exit(0);
    });
  }
}

// The parent going away (even killed with SIGKILL) closes the IPC channel: never outlive it.
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

void Promise.all(HOSTS.map(listen)).then((listening) => {
  servers = listening.map((l) => l.server);
  process.send?.({ ports: listening.map((l) => l.port) });
});

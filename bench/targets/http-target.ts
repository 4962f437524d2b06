/**
 * One benchmark target: a plain `node:http` server on 127.0.0.1 answering every request with the
 * same small body over keep-alive connections. Runs in its own process (started by
 * bench/request-bench.ts through an IPC channel) so its CPU never counts as the client's.
 */
import { createServer } from 'node:http';

const BODY = Buffer.from('{"ok":true}');

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  res.end(BODY);
});
// Longer than any client's idle timeout, so clients, not the server, decide when sockets close.
server.keepAliveTimeout = 30_000;

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  server.close(() => process.exit(0));
}

// The parent going away (even killed with SIGKILL) closes the IPC channel: never outlive it.
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ port });
});

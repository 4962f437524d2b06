import { createServer } from 'node:net';
import type { Server } from 'node:net';

/**
 * `count` distinct TCP ports on 127.0.0.1 that the kernel handed out a moment ago. All listeners stay
 * open until every port is chosen, so the kernel cannot hand out the same port twice.
 */
export async function loopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/**
 * The Express app of the adapter benchmark, in its own process: `GET /` answers a small JSON body.
 * With `--consul=ADDRESS` the app goes through `expressConsul()` (registration, HTTP check,
 * request metrics, its /health route); without, it is the same app with a plain /health route, so
 * both answer the same two paths. Reports its port over IPC; leaves when the parent goes away.
 */
import express from 'express';
import type { Server } from 'node:http';
import { expressConsul } from '../../src';

const consulArg = process.argv.find((a) => a.startsWith('--consul='))?.slice(9);

const app = express();
const consul = consulArg
  ? expressConsul(app, {
      consul: { address: consulArg },
      service: { name: 'bench-express', check: { intervalMs: 1_000 } },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    })
  : undefined;
if (!consul) app.get('/health', (_req, res) => void res.json({ status: 'passing' }));
app.get('/', (_req, res) => void res.json({ ok: true }));

let server: Server | undefined;
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (consul) await consul.close().catch(() => undefined);
  else server?.closeAllConnections();
  server?.close();
  process.exit(0);
}
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());

void (async () => {
  server = consul ? await consul.listen(0, '127.0.0.1') : app.listen(0, '127.0.0.1');
  if (!server.listening) await new Promise((resolve) => server!.once('listening', resolve));
  server.keepAliveTimeout = 30_000;
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
})();

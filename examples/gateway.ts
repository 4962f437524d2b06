// The seed's flow, second half: `gateway` registers too, and its handler finds `my_service` by name
// through Consul, fetches it through the helper (balanced, retried, pooled) and writes the body back.
import express from 'express';
import { expressConsul, isExpressConsulError } from '../src';

const app = express();
const consul = expressConsul(app, {
  service: {
    name: 'gateway',
    meta: { metrics_path: '/metrics' },
    check: { intervalMs: Number(process.env.CHECK_INTERVAL_MS ?? 10_000) },
  },
  shutdown: { propagationDelayMs: Number(process.env.PROPAGATION_DELAY_MS ?? 2_000) },
  discovery: { client: { timeoutMs: 2_000, deadlineMs: 5_000 } },
});

app.get('/', (_request, response, next) => {
  consul
    .fetch('http://my_service/')
    .then(async (upstream) => {
      response.status(upstream.status);
      response.type(upstream.headers.get('content-type') ?? 'text/plain');
      response.send(await upstream.text());
    })
    .catch((error: unknown) => {
      // No healthy my_service, or every attempt failed: say so, with the stable error code only.
      if (isExpressConsulError(error)) response.status(503).json({ error: error.code });
      else next(error);
    });
});

app.get('/metrics', consul.metricsHandler());
app.get('/status', consul.statusHandler());

consul.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1').then(
  (server) => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(
      `${JSON.stringify({ event: 'listening', service: 'gateway', id: consul.registration.serviceId, port })}\n`,
    );
  },
  (error: unknown) => {
    process.stderr.write(`gateway failed to start: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

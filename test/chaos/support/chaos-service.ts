// An instance for the chaos scenarios, run as its own process. It listens on PORT but registers
// in Consul at ADVERTISE_PORT, the port of the Toxiproxy proxy in front of it, so every call (and
// Consul's health check) crosses the proxy. Configured by env: SERVICE_NAME, INSTANCE_NAME, PORT,
// ADVERTISE_PORT, CHECK_INTERVAL_MS, FAILURES_BEFORE_CRITICAL, PROPAGATION_DELAY_MS,
// DRAIN_TIMEOUT_MS. Speaks JSON lines on
// stdout (see test/support/child-service.ts).
import express from 'express';
import { expressConsul } from '../../../src';

const env = process.env;
const instance = env.INSTANCE_NAME ?? 'chaos';
const say = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const app = express();
const consul = expressConsul(app, {
  service: {
    name: env.SERVICE_NAME ?? 'chaos-service',
    port: Number(env.ADVERTISE_PORT),
    meta: { instance },
    check: {
      intervalMs: Number(env.CHECK_INTERVAL_MS ?? 1_000),
      // Consul's flap damping: failed checks in a row before critical.
      ...(env.FAILURES_BEFORE_CRITICAL !== undefined && {
        failuresBeforeCritical: Number(env.FAILURES_BEFORE_CRITICAL),
      }),
    },
  },
  shutdown: {
    propagationDelayMs: Number(env.PROPAGATION_DELAY_MS ?? 300),
    drainTimeoutMs: Number(env.DRAIN_TIMEOUT_MS ?? 5_000),
  },
});

app.get('/', (_request, response) => {
  response.json({ instance });
});

// A non-idempotent call: who took it, so a test can tell that nothing was sent twice.
app.post('/orders', (_request, response) => {
  say('order', { instance });
  response.status(201).json({ instance });
});

// A body big enough that a `limit_data` toxic cuts it in the middle.
const big = 'x'.repeat(64 * 1024);
app.get('/big', (_request, response) => {
  response.type('text/plain').send(big);
});

consul.listen(Number(env.PORT ?? 0), '127.0.0.1').then(
  () => say('listening', { id: consul.registration.serviceId, instance }),
  (error: unknown) => {
    process.stderr.write(`chaos-service failed to start: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

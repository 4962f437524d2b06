// The seed's example: `my_service` registers with Consul at start-up, with an HTTP health check
// that Consul calls, and drains on SIGTERM. Run: CONSUL_HTTP_ADDR=http://127.0.0.1:8500 npx ts-node examples/my-service.ts
import express from 'express';
import { expressConsul } from '../src';

const port = Number(process.env.PORT ?? 0);
const instanceName = process.env.INSTANCE_NAME ?? 'my_service';

const app = express();

const consul = expressConsul(app, {
  service: {
    name: 'my_service',
    tags: ['example'],
    // metrics_path tells Prometheus's consul_sd_configs where to scrape (deploy/prometheus.yml).
    meta: { instance: instanceName, metrics_path: '/metrics' },
    check: {
      intervalMs: Number(process.env.CHECK_INTERVAL_MS ?? 10_000),
      // Consul's own flap damping: this many failed checks in a row before critical.
      ...(process.env.FAILURES_BEFORE_CRITICAL && {
        failuresBeforeCritical: Number(process.env.FAILURES_BEFORE_CRITICAL),
      }),
    },
  },
  shutdown: {
    propagationDelayMs: Number(process.env.PROPAGATION_DELAY_MS ?? 2_000),
    drainTimeoutMs: Number(process.env.DRAIN_TIMEOUT_MS ?? 15_000),
  },
});

// One instance at a time runs the jobs: the leader of 'jobs' among the my_service instances. The
// drain resigns first, so another instance takes over at once; a killed one within the lock delay.
consul.leader('jobs', {
  lockDelayMs: Number(process.env.LOCK_DELAY_MS ?? 5_000),
  onElected(signal) {
    const timer = setInterval(() => undefined, 1_000); // stands for the leader-only work
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  },
});

app.get('/', (_request, response) => {
  response.json({ message: `Hello from ${instanceName}`, id: consul.registration.serviceId });
});

app.get('/metrics', consul.metricsHandler());

// A deliberately slow route, to watch a drain let in-flight requests finish.
app.get('/slow', (request, response) => {
  const ms = Math.min(Number(request.query.ms ?? 1_000), 30_000);
  if (process.env.ANNOUNCE_SLOW === '1')
    process.stdout.write(`${JSON.stringify({ event: 'slow-request', ms })}\n`);
  setTimeout(() => response.json({ slept: ms, id: consul.registration.serviceId }), ms);
});

consul.listen(port, process.env.HOST ?? '127.0.0.1').then(
  (server) => {
    const address = server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    // One JSON line on stdout tells a parent process (tests, the demo) where we are.
    process.stdout.write(
      `${JSON.stringify({ event: 'listening', service: 'my_service', id: consul.registration.serviceId, port: boundPort })}\n`,
    );
  },
  (error: unknown) => {
    process.stderr.write(`my_service failed to start: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

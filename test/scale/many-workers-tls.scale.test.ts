import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionBudget, H2_STREAMS, lanePlan } from '../../src/consul/connection-budget';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { createTlsFiles } from '../../src/testing/consul-process';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import { waitFor } from '../../harness/wait-for';
import {
  agentRequestCount,
  percentile,
  ProbeClient,
  registerInstance,
  registerServices,
  sampleMax,
  socketsTo,
} from '../../harness/scale/scale-support';
import { WatchWorker } from '../../harness/scale/watch-workers';

// Issue #12, with TLS to the agent: 1,000 services followed by 4 processes on one host (one client
// IP) against an agent with Consul's default limit of 200 connections per client IP. Over h2 every
// service gets a blocking query of its own, as a stream: 1,000 of them on 4 watch connections of
// 250 streams (their first reads on them too), within the 32-connection budget of each process.
const SERVICES = Number(process.env.SCALE_SERVICES ?? 1_000);
const WORKERS = 4;
const BUDGET = 32;
const PLAN = lanePlan(connectionBudget(BUDGET), 'h2');
/** Every connection the h2 plan may open: the ceiling of a process's sockets. */
const H2_SOCKETS =
  PLAN.short.connections +
  PLAN.control.connections +
  PLAN.watch.connections +
  PLAN.poll.connections;
const H2_WATCH_SOCKETS = PLAN.watch.connections + PLAN.poll.connections;
/** The issue's figure: all 1,000 under blocking queries over at most 4 connections per process. */
const TARGET_WATCH_SOCKETS = 4;

jest.setTimeout(170_000);

let dir: string;
let agent: StartedConsul;
let names: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'express-consul-scale-tls-'));
  agent = await startConsul({
    mode: 'binary',
    tls: await createTlsFiles(findConsulBinary()!, dir, 'dc1'),
    // Cumulative request counts for the agent's request rate (consul_api_http).
    hcl: ['telemetry { prometheus_retention_time = "10m", disable_hostname = true }'],
  });
  // Set-up over plain HTTP on connections of its own: the workers alone use the https port.
  names = await registerServices(agent.address, 'svc', SERVICES);
});

afterAll(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(`${SERVICES} services x ${WORKERS} processes over TLS (h2), default limit 200: all slotted and ready, changes p99 <= 100 ms, sockets within budget, 0 x 429 to others`, async () => {
  const httpsPort = Number(new URL(agent.https!.address).port);
  const probe = new ProbeClient(agent.https!.address);
  const workers: WatchWorker[] = [];
  try {
    for (let i = 0; i < WORKERS; i++) {
      workers.push(new WatchWorker(agent.https!.address, 'svc', SERVICES));
    }
    const samplers = workers.map((worker) =>
      sampleMax(() => {
        try {
          return socketsTo(httpsPort, worker.child.pid);
        } catch {
          return 0;
        }
      }, 50),
    );
    await Promise.all(
      workers.map((worker) =>
        waitFor('a worker to load', () => worker.lines.some((line) => 'loaded' in line), {
          timeoutMs: 90_000,
          intervalMs: 50,
        }),
      ),
    );
    const requestsAtGo = await agentRequestCount(agent.address);
    const goAt = Date.now();
    for (const worker of workers) worker.child.stdin?.write('go\n');
    const ready = await Promise.all(
      workers.map((worker) =>
        waitFor(
          'a worker to report readiness',
          () =>
            worker.lines.find((line) => 'ready' in line) as
              { ready: number; readyMs: number; cpuMs: number } | undefined,
          // A worker gives up on readiness after 30 s and reports how many were ready by then.
          { timeoutMs: 75_000, intervalMs: 50 },
        ),
      ),
    );
    const readyRate =
      ((await agentRequestCount(agent.address)) - requestsAtGo) / ((Date.now() - goAt) / 1_000);

    // 13 changes spread over the 1,000, one at a time; each must reach every worker.
    const changeMs: number[] = [];
    const picks = [0, 77, 150, 233, 310, 399, 480, 555, 640, 720, 815, 900, SERVICES - 1].filter(
      (i) => i < SERVICES,
    );
    const requestsAtChanges = await agentRequestCount(agent.address);
    const changesAt = Date.now();
    for (const i of picks) {
      const name = names[i]!;
      const before = Date.now();
      await registerInstance(agent.address, name, `${name}-extra`, 30_001);
      const seen = await Promise.all(
        workers.map((worker) =>
          waitFor(
            `${name}'s change in every worker`,
            () =>
              (
                worker.lines.find((line) => (line as { change?: string }).change === name) as
                  { at: number } | undefined
              )?.at,
            { timeoutMs: 10_000, intervalMs: 5 },
          ),
        ),
      );
      for (const at of seen) changeMs.push(at - before);
    }
    const changeRate =
      ((await agentRequestCount(agent.address)) - requestsAtChanges) /
      ((Date.now() - changesAt) / 1_000);
    for (const worker of workers) worker.child.stdin?.write('status\n');
    const statuses = await Promise.all(
      workers.map((worker) =>
        waitFor(
          'a worker status',
          () =>
            (worker.lines.find((line) => 'status' in line) as { status: object } | undefined)
              ?.status,
          { timeoutMs: 10_000, intervalMs: 20 },
        ),
      ),
    );
    const sockets = samplers.map((sampler) => sampler.stop());
    process.stdout.write(
      `many workers over TLS (h2, ${H2_STREAMS} streams per connection): ${WORKERS} x ${SERVICES} services; ` +
        `ready ${ready.map((r) => `${r.ready} in ${r.readyMs} ms (${r.cpuMs} ms CPU)`).join(', ')}; ` +
        `max sockets per process ${sockets.join(', ')} (plan: ${H2_WATCH_SOCKETS} for watches, ${H2_SOCKETS} in all; budget ${BUDGET}); ` +
        `probe ${probe.refused()} refused of ${probe.total()}; ` +
        `change p50 ${percentile(changeMs, 50)} ms, p99 ${percentile(changeMs, 99)} ms (n=${changeMs.length}); ` +
        `agent ${Math.round(readyRate)} req/s until ready, ${Math.round(changeRate)} req/s during changes; ` +
        `schedulers ${JSON.stringify(statuses[0])}\n`,
    );
    for (const r of ready) {
      expect(r.ready).toBe(SERVICES);
      expect(r.readyMs).toBeLessThanOrEqual(10_000);
    }
    expect(probe.refused()).toBe(0);
    expect(probe.total()).toBeGreaterThan(20);
    for (const count of sockets) {
      expect(count).toBeLessThanOrEqual(BUDGET);
      expect(count).toBeLessThanOrEqual(H2_SOCKETS);
      // The workers make no short or control call: every socket they hold carries the watches.
      expect(count).toBeLessThanOrEqual(TARGET_WATCH_SOCKETS);
    }
    expect(changeMs.length).toBeGreaterThanOrEqual(12 * WORKERS);
    expect(percentile(changeMs, 99)).toBeLessThanOrEqual(100);
    // Every service has a blocking query of its own: no check watch, nothing polled.
    for (const status of statuses) {
      expect(status).toMatchObject({ slotted: SERVICES, polled: 0, throttled: 0 });
    }
  } finally {
    await probe.stop();
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});

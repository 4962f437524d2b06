import { waitFor } from '../../harness/wait-for';
import {
  percentile,
  ProbeClient,
  consulSeesChange,
  registerCatalogInstance,
  registerServices,
  sampleMax,
  socketsTo,
  startScaleAgent,
} from '../../harness/scale/scale-support';
import type { ScaleAgent } from '../../harness/scale/scale-support';
import { WatchWorker } from '../../harness/scale/watch-workers';

// Issue #12: 1,000 services followed by 4 processes on one host (cluster workers: one client IP)
// against an agent with Consul's default limit of 200 connections per client IP: a server as
// production runs it (see startScaleAgent).
const SERVICES = Number(process.env.SCALE_SERVICES ?? 1_000);
const WORKERS = 4;
const BUDGET = 32;
/** First come, first slotted: 32 - 4 short - 4 control - 2 polled reads - 1 check watch. */
const SLOTS = 21;

jest.setTimeout(170_000);

let agent: ScaleAgent;
let names: string[];

beforeAll(async () => {
  agent = await startScaleAgent();
  names = await registerServices(agent.address, 'svc', SERVICES);
});

afterAll(async () => {
  await agent?.stop();
});

test(`${SERVICES} services x ${WORKERS} processes, default limit 200: all ready, 0 x 429 to others, sockets within budget, changes seen`, async () => {
  const probe = new ProbeClient(agent.address);
  const workers: WatchWorker[] = [];
  try {
    for (let i = 0; i < WORKERS; i++) workers.push(new WatchWorker(agent.address, 'svc', SERVICES));
    const samplers = workers.map((worker) =>
      sampleMax(() => {
        try {
          return socketsTo(Number(new URL(agent.address).port), worker.child.pid);
        } catch {
          return 0;
        }
      }, 50),
    );
    // The watches start together once every worker has loaded (readiness is timed from "go").
    await Promise.all(
      workers.map((worker) =>
        waitFor('a worker to load', () => worker.lines.some((line) => 'loaded' in line), {
          timeoutMs: 90_000,
          intervalMs: 50,
        }),
      ),
    );
    for (const worker of workers) worker.send('go');
    const ready = await Promise.all(
      workers.map((worker) =>
        waitFor(
          'a worker to report readiness',
          () =>
            worker.lines.find((line) => 'ready' in line) as
              { ready: number; readyMs: number; cpuMs: number } | undefined,
          { timeoutMs: 60_000, intervalMs: 50 },
        ),
      ),
    );

    // Changes: slotted services (the first SLOTS asked for) and polled ones, one at a time.
    const slottedMs: number[] = [];
    const polledMs: number[] = [];
    /** When Consul itself answered a blocking query on the service: the agent's own share. */
    const controlMs: number[] = [];
    // 25 changes to slotted services (4 workers: 100 samples, so p99 is not simply the slowest
    // one) cycling over six of them, each change a new instance; 8 changes to polled services.
    const slottedIndices = [0, 3, 7, 11, 15, 20];
    const picks = [
      ...Array.from({ length: 25 }, (_, k) => ({ i: slottedIndices[k % 6]!, slotted: true, k })),
      ...[30, 100, 250, 400, 555, 700, 850, SERVICES - 1]
        .filter((i) => i < SERVICES)
        .map((i, k) => ({ i, slotted: false, k })),
    ];
    for (const { i, slotted, k } of picks) {
      const name = names[i]!;
      const control = await consulSeesChange(agent.address, name);
      const from = workers.map((worker) => worker.lines.length);
      const before = Date.now();
      await registerCatalogInstance(agent.address, name, `${name}-extra-${k}`, 30_001 + k);
      controlMs.push((await control()) - before);
      const seen = await Promise.all(
        workers.map((worker, w) =>
          waitFor(
            `${name}'s change in every worker`,
            () =>
              worker.lines
                .slice(from[w])
                .find((line) => (line as { change?: string }).change === name) as
                { at: number; slotted: boolean } | undefined,
            { timeoutMs: 10_000, intervalMs: 5 },
          ),
        ),
      );
      // Each worker says whether the service held a slot there when it saw the change: the pick
      // was made for the first-come slots, and the figure is counted under what really happened.
      for (const change of seen) {
        expect(change.slotted).toBe(slotted);
        (change.slotted ? slottedMs : polledMs).push(change.at - before);
      }
    }
    for (const worker of workers) worker.send('status');
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
      `many workers: ${WORKERS} x ${SERVICES} services; ready ${ready.map((r) => `${r.ready} in ${r.readyMs} ms (${r.cpuMs} ms CPU)`).join(', ')}; ` +
        `max sockets per process ${sockets.join(', ')}; probe ${probe.refused()} refused of ${probe.total()}; ` +
        `change p50 slotted ${percentile(slottedMs, 50)} ms, p99 slotted ${percentile(slottedMs, 99)} ms, max ${Math.max(...slottedMs)} ms (n=${slottedMs.length}), polled ${percentile(polledMs, 99)} ms (n=${polledMs.length}); ` +
        `Consul's own blocking answer p50 ${percentile(controlMs, 50)} ms, p99 ${percentile(controlMs, 99)} ms (${controlMs.join(',')}); ` +
        `schedulers ${JSON.stringify(statuses[0])}\n`,
    );
    for (const r of ready) {
      expect(r.ready).toBe(SERVICES);
      expect(r.readyMs).toBeLessThanOrEqual(10_000);
    }
    expect(probe.refused()).toBe(0);
    expect(probe.total()).toBeGreaterThan(20);
    for (const count of sockets) expect(count).toBeLessThanOrEqual(BUDGET);
    expect(percentile(slottedMs, 99)).toBeLessThanOrEqual(100);
    expect(percentile(polledMs, 99)).toBeLessThanOrEqual(2_000);
    for (const status of statuses) expect(status).toMatchObject({ slotted: SLOTS, throttled: 0 });
  } finally {
    await probe.stop();
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});

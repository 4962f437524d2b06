// A process that follows SERVICES services (PREFIX-0 ..) through its own Discovery, as one worker of
// a cluster would: prints one JSON line when every service is ready, one per change seen, and, when
// asked on stdin, its scheduler's status ("status") or which services hold a slot ("slots"). Every
// request it sends to the agent is counted (by kind) and reported with the status, and so are the
// 429s it gets. Starts on "go" (after it printed {loaded}); exits on "stop" (or stdin closing).
// Used by test/scale and by the bench's scale suite.
import { subscribe } from 'node:diagnostics_channel';
import { createInterface } from 'node:readline';
import { Discovery } from '../../src/client/discovery';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';

/** Requests to the agent by kind, as the status line reports them. */
export interface RequestCounts {
  /** Blocking queries of slotted services (`/v1/health/service/...?index=..&wait=..`). */
  blocking: number;
  /** Non-blocking reads of `/v1/health/service/...` (first reads, polled services). */
  reads: number;
  /** Blocking queries of the check watch (`/v1/health/state/any`). */
  checkWatch: number;
  other: number;
  /** 429 answers (ConsulClient.onThrottled). */
  throttled: number;
}

function countRequests(origin: string): RequestCounts {
  const counts: RequestCounts = { blocking: 0, reads: 0, checkWatch: 0, other: 0, throttled: 0 };
  // Every undici request announces itself here (undici's diagnostics channel), whatever the pool.
  subscribe('undici:request:create', (message) => {
    const request = (message as { request: { origin?: unknown; path: string } }).request;
    if (!String(request.origin).startsWith(origin)) return;
    const path = request.path;
    if (path.startsWith('/v1/health/state/any')) counts.checkWatch += 1;
    else if (path.startsWith('/v1/health/service/')) {
      if (/[?&]wait=/.test(path)) counts.blocking += 1;
      else counts.reads += 1;
    } else counts.other += 1;
  });
  return counts;
}

async function main(): Promise<void> {
  const address = process.env.SCALE_CONSUL!;
  const prefix = process.env.SCALE_PREFIX!;
  const count = Number(process.env.SCALE_SERVICES);
  const consul = new ConsulClient({ address, tls: { verify: false } });
  const requests = countRequests(new URL(address).origin);
  consul.onThrottled(() => {
    requests.throttled += 1;
  });
  // Every service watched at once: past the default watch-set cap (discovery.maxServices, 256).
  const options = resolveDiscoveryOptions({ maxServices: count });
  const discovery = new Discovery(consul, options, undefined, silentLogger);
  const write = (value: object): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  // Loading (ts-node compiles the sources: seconds of CPU per process) is not what is measured:
  // the test starts every worker's watches at once with "go", once all have loaded.
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  write({ loaded: true });
  for (let line = await lines.next(); !line.done && line.value !== 'go'; line = await lines.next());
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const cpuMs = (): number => {
    const used = process.cpuUsage(cpuAtStart);
    return Math.round((used.user + used.system) / 1_000);
  };
  const registry = (discovery as unknown as { registry: { schedulerStatus(): unknown } }).registry;
  if (process.env.SCALE_PROGRESS) {
    setInterval(
      () => write({ progress: Date.now() - started, ...(registry.schedulerStatus() as object) }),
      2_000,
    ).unref();
  }
  const clients = Array.from({ length: count }, (_, i) => discovery.service(`${prefix}-${i}`));
  const createCpuMs = cpuMs();
  // Whether a watch holds a blocking slot now: the scheduler's ticket (internal, read for the bench).
  const slotted = (i: number): boolean =>
    (clients[i]!.watcher as unknown as { ticket: { slotted?: boolean } }).ticket.slotted === true;
  clients.forEach((client, i) => {
    client.watcher.onChange((event) => {
      if (event.previous.length > 0) {
        write({
          change: event.service,
          at: Date.now(),
          instances: event.instances.length,
          slotted: slotted(i),
        });
      }
    });
  });
  const outcomes = await Promise.allSettled(
    clients.map((client) => client.ready(AbortSignal.timeout(30_000))),
  );
  // Whoever is not ready after 30 s: what its watcher and the pools say (a failed run's evidence).
  const unready = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
  if (unready.length > 0) {
    const lanes = (consul as unknown as { lanes: { poolStats(): Record<string, object> } }).lanes;
    write({
      unready: unready.slice(0, 5).map((i) => ({
        service: `${prefix}-${i}`,
        status: clients[i]!.watcher.status(),
        slotted: slotted(i),
        reason: String((outcomes[i] as PromiseRejectedResult).reason),
      })),
      pools: Object.entries(lanes.poolStats()).map(([lane, stats]) => ({
        lane,
        connected: (stats as { connected: number }).connected,
        pending: (stats as { pending: number }).pending,
        queued: (stats as { queued: number }).queued,
        running: (stats as { running: number }).running,
        size: (stats as { size: number }).size,
      })),
      scheduler: registry.schedulerStatus(),
    });
  }
  write({
    ready: outcomes.filter((o) => o.status === 'fulfilled').length,
    readyMs: Date.now() - started,
    // CPU this process spent (what a loaded host has to find for it): creating the clients, all.
    createCpuMs,
    cpuMs: cpuMs(),
    requests: { ...requests },
  });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value === 'status') {
      write({ status: registry.schedulerStatus(), requests: { ...requests }, cpuMs: cpuMs() });
    }
    if (line.value === 'slots') {
      write({ slots: clients.flatMap((_, i) => (slotted(i) ? [i] : [])) });
    }
    if (line.value === 'stop') break;
  }
  await discovery.close();
  await consul.close();
  process.exit(0);
}

void main();

// A process that follows SERVICES services (PREFIX-0 ..) through its own Discovery, as one worker of
// a cluster would: prints one JSON line when every service is ready, one per change seen, and its
// scheduler's status when asked ("status" on stdin). Starts on "go" (after it printed
// {loaded}); exits on "stop" (or stdin closing).
import { createInterface } from 'node:readline';
import { Discovery } from '../../src/client/discovery';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';

async function main(): Promise<void> {
  const address = process.env.SCALE_CONSUL!;
  const prefix = process.env.SCALE_PREFIX!;
  const count = Number(process.env.SCALE_SERVICES);
  const consul = new ConsulClient({ address, tls: { verify: false } });
  // Every service watched at once: past the default watch-set cap (discovery.maxServices, 256).
  const discovery = new Discovery(consul, { maxServices: count }, undefined, silentLogger);
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
  for (const client of clients) {
    client.discovery.onChange((event) => {
      if (event.previous.length > 0) {
        write({ change: event.service, at: Date.now(), instances: event.instances.length });
      }
    });
  }
  const outcomes = await Promise.allSettled(
    clients.map((client) => client.ready(AbortSignal.timeout(30_000))),
  );
  write({
    ready: outcomes.filter((o) => o.status === 'fulfilled').length,
    readyMs: Date.now() - started,
    // CPU this process spent (what a loaded host has to find for it): creating the clients, all.
    createCpuMs,
    cpuMs: cpuMs(),
  });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value === 'status') {
      write({ status: registry.schedulerStatus() });
    }
    if (line.value === 'stop') break;
  }
  await discovery.close();
  await consul.close();
  process.exit(0);
}

void main();

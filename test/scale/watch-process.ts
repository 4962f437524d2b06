// A process that follows SERVICES services (PREFIX-0 ..) through its own Discovery, as one worker of
// a cluster would: prints one JSON line when every service is ready, one per change seen, and its
// scheduler's status when asked ("status" on stdin). Exits on "stop" (or stdin closing).
import { createInterface } from 'node:readline';
import { Discovery } from '../../src/client/discovery';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';

async function main(): Promise<void> {
  const address = process.env.SCALE_CONSUL!;
  const prefix = process.env.SCALE_PREFIX!;
  const count = Number(process.env.SCALE_SERVICES);
  const consul = new ConsulClient({ address, tls: { verify: false } });
  const discovery = new Discovery(consul, {}, undefined, silentLogger);
  const write = (value: object): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  const started = Date.now();
  const registry = (discovery as unknown as { registry: { schedulerStatus(): unknown } }).registry;
  if (process.env.SCALE_PROGRESS) {
    setInterval(
      () => write({ progress: Date.now() - started, ...(registry.schedulerStatus() as object) }),
      2_000,
    ).unref();
  }
  const clients = Array.from({ length: count }, (_, i) => discovery.service(`${prefix}-${i}`));
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
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'status') {
      write({ status: registry.schedulerStatus() });
    }
    if (line === 'stop') break;
  }
  await discovery.close();
  await consul.close();
  process.exit(0);
}

void main();

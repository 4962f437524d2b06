// `npm run demo`: a dev Consul agent with its UI, three `my_service` instances and a `gateway` that
// calls them by name. Prints where to look and the health Consul reports; Ctrl-C drains and stops
// everything. DEMO_DURATION_MS=N stops it by itself after N ms; DEMO_CONSUL_PORT picks the agent's port.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { ConsulClient } from '../src';
import { ConsulAgent } from '../tools/consul-agent';

const colour = process.stdout.isTTY
  ? {
      dim: '\x1b[2m',
      green: '\x1b[32m',
      yellow: '\x1b[33m',
      red: '\x1b[31m',
      bold: '\x1b[1m',
      off: '\x1b[0m',
    }
  : { dim: '', green: '', yellow: '', red: '', bold: '', off: '' };
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

interface Child {
  readonly label: string;
  readonly process: ChildProcess;
  readonly listening: Promise<{ port: number; id: string }>;
  readonly exited: Promise<unknown>;
}

function startChild(label: string, example: string, env: Record<string, string>): Child {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', `examples/${example}.ts`],
    {
      cwd: `${__dirname}/..`,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const listening = new Promise<{ port: number; id: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; port?: number; id?: string };
        if (event.event === 'listening') resolve({ port: event.port ?? 0, id: event.id ?? '' });
      } catch {
        say(`${colour.dim}[${label}] ${line}${colour.off}`);
      }
    });
    child.once('exit', () => reject(new Error(`${label} exited during start-up`)));
  });
  listening.catch(() => undefined);
  createInterface({ input: child.stderr }).on('line', (line) =>
    say(`${colour.dim}[${label}] ${line}${colour.off}`),
  );
  return { label, process: child, listening, exited: once(child, 'exit') };
}

async function main(): Promise<void> {
  const wanted =
    process.env.DEMO_CONSUL_PORT === undefined ? 8500 : Number(process.env.DEMO_CONSUL_PORT);
  const httpPort = wanted !== 0 && (await portIsFree(wanted)) ? wanted : undefined;
  const agent = await ConsulAgent.start({
    nodeName: 'demo',
    ...(httpPort !== undefined && { httpPort }),
  });
  const consul = new ConsulClient({ address: agent.address });
  const children: Child[] = [];
  const stop = new AbortController();

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      say(`\n${colour.bold}${why}: draining the services, then stopping Consul...${colour.off}`);
      stop.abort();
      for (const child of children) child.process.kill('SIGTERM');
      await Promise.all(children.map((child) => child.exited));
      await consul.close();
      await agent.stop();
      say('All stopped; nothing left running.');
    })());
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const env = {
    CONSUL_HTTP_ADDR: agent.address,
    CHECK_INTERVAL_MS: '2000',
    PROPAGATION_DELAY_MS: '500',
  };
  for (let i = 1; i <= 3; i++)
    children.push(
      startChild(`my_service-${i}`, 'my-service', { ...env, INSTANCE_NAME: `my_service-${i}` }),
    );
  children.push(startChild('gateway', 'gateway', env));
  let gateway: { port: number; id: string };
  try {
    [gateway] = await Promise.all([
      children[3]!.listening,
      ...children.slice(0, 3).map((c) => c.listening),
    ]);
  } catch (error) {
    // Ctrl-C during start-up stops the children on purpose; anything else is a real failure.
    if (stop.signal.aborted) return shutdown('stopping');
    await shutdown('start-up failed');
    throw error;
  }

  say('');
  say(`${colour.bold}Consul UI:${colour.off}  ${agent.address}/ui/dc1/services`);
  say(
    `${colour.bold}Gateway:${colour.off}    http://127.0.0.1:${gateway.port}/   (calls my_service by name)`,
  );
  say(`${colour.bold}Metrics:${colour.off}    http://127.0.0.1:${gateway.port}/metrics`);
  say(`${colour.dim}Try: curl http://127.0.0.1:${gateway.port}/   — Ctrl-C to stop.${colour.off}`);
  say('');

  const duration = Number(process.env.DEMO_DURATION_MS ?? 0);
  if (duration > 0)
    setTimeout(() => void shutdown(`DEMO_DURATION_MS=${duration} elapsed`), duration).unref();

  // Consul's view of health, printed whenever it changes (blocking queries, no polling).
  const follow = async (service: string): Promise<void> => {
    let index = 0;
    let last = '';
    while (!stop.signal.aborted) {
      try {
        const { data, meta } = await consul.healthService(
          service,
          { index, waitMs: 30_000 },
          { signal: stop.signal },
        );
        index = meta.index !== undefined && meta.index >= index ? meta.index : 0;
        const line = data
          .map((entry) => {
            const worst = entry.Checks.some((c) => c.Status === 'critical')
              ? `${colour.red}critical`
              : entry.Checks.some((c) => c.Status === 'warning')
                ? `${colour.yellow}warning`
                : `${colour.green}passing`;
            return `${entry.Service.ID.slice(0, 40)} ${entry.Service.Address}:${entry.Service.Port} ${worst}${colour.off}`;
          })
          .join(' | ');
        if (line !== last)
          say(`${colour.bold}Consul health of ${service}:${colour.off} ${line || '(none)'}`);
        last = line;
      } catch {
        if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  const watches = [follow('my_service'), follow('gateway')];

  // Once everything passes, show the seed's flow working: the gateway calls my_service by name.
  for (let i = 0; i < 6 && !stop.signal.aborted; i++) {
    await new Promise((r) => setTimeout(r, i === 0 ? 2_500 : 300));
    try {
      const answer = await request(`http://127.0.0.1:${gateway.port}/`, { signal: stop.signal });
      say(`GET gateway / -> ${answer.statusCode} ${await answer.body.text()}`);
    } catch {
      break;
    }
  }
  await Promise.all(watches);
  await shutdown('stopping');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${String(error)}\n`);
  process.exitCode = 1;
});

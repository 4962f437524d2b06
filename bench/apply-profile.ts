/**
 * Where the time goes when a large health answer is applied: a loopback HTTP server plays
 * Consul's `/v1/health/service/big` (N entries of Consul's own shape, a blocking query answered on
 * each change), and the real discovery (ConsulClient → ServiceWatcher → RoutingTable → balancer,
 * metrics on) follows it. Prints each phase's CPU on its own (pure functions, timed apart), then
 * the event-loop delay while whole answers are applied end to end. Not a test; a tool for
 * `node -r ts-node/register/transpile-only bench/apply-profile.ts 10000 50000` (add --cpu-prof
 * to see the same path in a profile).
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDiscovery } from '../src';
import { parseServiceInstances } from '../src/watch/to-service-instance';
import { contentEqual } from '../src/watch/blocking-index';
import { parseJsonIncrementally } from '../src/consul/incremental-json';

/** One entry as Consul 1.16 writes it for a catalog registration with one passing check. */
export function consulEntry(i: number, generation: number): unknown {
  const id = `big-${i}`;
  return {
    Node: {
      ID: '',
      Node: 'scale-node',
      Address: '127.0.0.1',
      Datacenter: 'dc1',
      TaggedAddresses: null,
      Meta: null,
      CreateIndex: 10,
      ModifyIndex: 10,
    },
    Service: {
      ID: id,
      Service: 'big',
      Tags: [],
      Address: `127.0.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
      Meta: null,
      Port: 20_000 + (i === 0 ? generation % 1000 : 0),
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      PeerName: '',
      CreateIndex: 11 + i,
      ModifyIndex: 11 + i,
    },
    Checks: [
      {
        Node: 'scale-node',
        CheckID: `check-${id}`,
        Name: 'scale',
        Status: 'passing',
        Notes: '',
        Output: '',
        ServiceID: id,
        ServiceName: 'big',
        ServiceTags: [],
        Type: '',
        Interval: '',
        Timeout: '',
        ExposedPort: 0,
        Definition: {},
        CreateIndex: 11 + i,
        ModifyIndex: 11 + i,
      },
    ],
  };
}

function time<T>(label: string, run: () => T): T {
  const start = performance.now();
  const result = run();
  process.stdout.write(`  ${label.padEnd(34)} ${(performance.now() - start).toFixed(1)} ms\n`);
  return result;
}

async function phases(count: number): Promise<void> {
  process.stdout.write(`${count} entries, phases on their own:\n`);
  const entries = Array.from({ length: count }, (_, i) => consulEntry(i, 0));
  const text = time('JSON.stringify (server side)', () => JSON.stringify(entries));
  process.stdout.write(`  body ${(text.length / 1e6).toFixed(1)} MB\n`);
  time('JSON.parse, whole', () => JSON.parse(text) as unknown);
  let longest = 0;
  let last = performance.now();
  const start = last;
  await parseJsonIncrementally(text, {
    yieldNow: () =>
      new Promise((resolve) => {
        longest = Math.max(longest, performance.now() - last);
        setImmediate(() => {
          last = performance.now();
          resolve();
        });
      }),
  });
  process.stdout.write(
    `  ${'parseJsonIncrementally'.padEnd(34)} ${(performance.now() - start).toFixed(1)} ms wall, longest slice ${longest.toFixed(1)} ms\n`,
  );
  const parsed = JSON.parse(text) as never[];
  const a = time('parseServiceInstances', () => parseServiceInstances(parsed));
  const b = parseServiceInstances(JSON.parse(text) as never[]);
  time('contentEqual (equal lists)', () => contentEqual(a.instances, b.instances));
}

/** The Consul stand-in, in a process of its own so that its work is not measured. */
function serve(): void {
  let index = 100;
  let body = '[]';
  const waiting = new Set<() => void>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(index) });
      res.end(body);
    };
    if (!url.pathname.startsWith('/v1/health/service/')) {
      res.writeHead(404).end();
      return;
    }
    if (Number(url.searchParams.get('index') ?? 0) < index) send();
    else waiting.add(send);
  });
  process.on('message', (message: { count: number } | 'release' | 'stop') => {
    if (message === 'stop') {
      server.close();
      process.disconnect();
    } else if (message === 'release') {
      for (const send of waiting) send();
      waiting.clear();
    } else {
      index += 1;
      body = JSON.stringify(Array.from({ length: message.count }, (_, i) => consulEntry(i, index)));
      process.send?.('prepared');
    }
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
}

async function endToEnd(count: number, answers: number): Promise<void> {
  const child = fork(__filename, ['--serve'], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const next = (): Promise<unknown> => new Promise((resolve) => child.once('message', resolve));
  const { port } = (await next()) as { port: number };
  child.send({ count });
  await next();
  const discovery = createDiscovery({ consul: { address: `http://127.0.0.1:${port}` } });
  const client = discovery.service('big');
  await client.ready(AbortSignal.timeout(60_000));
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const applied: number[] = [];
  for (let n = 0; n < answers; n += 1) {
    child.send({ count });
    await next();
    const changed = new Promise<void>((resolve) => {
      const off = client.watcher.onChange(() => {
        off();
        resolve();
      });
    });
    histogram.enable();
    const start = performance.now();
    child.send('release');
    await changed;
    applied.push(performance.now() - start);
    histogram.disable();
  }
  await discovery.close();
  child.send('stop');
  const ms = (ns: number): string => (ns / 1e6).toFixed(0);
  process.stdout.write(
    `${count} entries end to end, ${answers} answers: applied in ${applied.map((v) => v.toFixed(0)).join(', ')} ms; ` +
      `event-loop delay p50 ${ms(histogram.percentile(50))} p99 ${ms(histogram.percentile(99))} max ${ms(histogram.max)} ms\n`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') {
    serve();
    return;
  }
  const counts = process.argv.slice(2).map(Number);
  for (const count of counts.length > 0 ? counts : [10_000, 50_000]) {
    if (process.env.PHASES !== '0') await phases(count);
    await endToEnd(count, Number(process.env.ANSWERS ?? 3));
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});

/** With TIMINGS=1: each synchronous step of the apply path timed where it runs (CommonJS exports are looked up at each call). */
if (process.env.TIMINGS === '1' && process.argv[2] !== '--serve') {
  /* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-argument */
  type Method = (this: unknown, ...args: unknown[]) => unknown;
  const wrap = (object: object, key: string, label: string): void => {
    const target = object as Record<string, Method>;
    const original = target[key]!;
    target[key] = function (this: unknown, ...args: unknown[]): unknown {
      const start = performance.now();
      const cpu = process.cpuUsage();
      const result = original.apply(this, args);
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      if (ms > 5) {
        process.stdout.write(
          `    [${label}] ${ms.toFixed(1)} ms wall, ${((used.user + used.system) / 1000).toFixed(1)} ms CPU\n`,
        );
      }
      return result;
    };
  };
  wrap(
    require('../src/watch/to-service-instance'),
    'parseServiceInstances',
    'parseServiceInstances',
  );
  wrap(require('../src/watch/blocking-index'), 'contentEqual', 'contentEqual');
  wrap(
    require('../src/client/routing-table').RoutingTable.prototype,
    'onInstancesChanged',
    'RoutingTable.onInstancesChanged',
  );
  wrap(
    require('../src/client/routing-table').RoutingTable.prototype,
    'updateRouting',
    'RoutingTable.updateRouting',
  );
  wrap(
    require('../src/watch/service-watcher').ServiceWatcher.prototype,
    'accept',
    'ServiceWatcher.accept (all)',
  );
  wrap(Array.prototype, 'every', 'Array.every (isHealthEntry)');
  wrap(Buffer, 'concat', 'Buffer.concat');
  wrap(Buffer.prototype, 'toString', 'Buffer.toString');
  wrap(
    require('../src/client/outlier-detector').OutlierDetector.prototype,
    'retain',
    'OutlierDetector.retain',
  );
  wrap(
    require('../src/client/instance-pools').InstancePools.prototype,
    'retain',
    'InstancePools.retain',
  );
  wrap(
    require('../src/balancer/round-robin').RoundRobinBalancer.prototype,
    'update',
    'RoundRobin.update',
  );
  wrap(
    require('../src/client/outlier-detector').OutlierDetector.prototype,
    'eligible',
    'OutlierDetector.eligible',
  );
}

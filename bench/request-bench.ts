/**
 * End-to-end cost of a call through express-consul (discovery + balancer + retries + metrics +
 * per-instance pool) against undici's Pool to one instance, measured side by side in one run on
 * loopback, with a bounded number of requests. Not a test. Run: `npm run bench:request`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { Pool } from 'undici';
import { Registry } from 'prom-client';
import { ConsulClient, createDiscovery } from '../src';
import { ConsulAgent } from '../tools/consul-agent';

const REQUESTS = 5_000;
const CONCURRENCY = 16;
const ROUNDS = 3;

async function drive(call: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next += 1;
        await call();
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / REQUESTS / 1000;
}

async function main(): Promise<void> {
  const agent = await ConsulAgent.start();
  const servers: Server[] = [];
  const consul = new ConsulClient({ address: agent.address });
  const discovery = createDiscovery({
    consul: { address: agent.address },
    metrics: process.env.BENCH_NO_METRICS ? false : { registry: new Registry() },
  });
  const pool = { current: undefined as Pool | undefined };
  try {
    for (let i = 0; i < 3; i++) {
      const server = createServer((_req, res) => res.end('ok'));
      server.keepAliveTimeout = 10_000;
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
      const port = (server.address() as { port: number }).port;
      await consul.registerService({
        Name: 'bench-target',
        ID: `bench-target-${i}`,
        Address: '127.0.0.1',
        Port: port,
      });
    }
    const client = discovery.service('bench-target');
    await client.ready();
    const firstPort = (servers[0]!.address() as { port: number }).port;
    pool.current = new Pool(`http://127.0.0.1:${firstPort}`, {
      connections: 32,
      keepAliveTimeout: 4_000,
    });

    const ours = async (): Promise<void> => {
      const response = await client.request({ path: '/' });
      await response.body.dump();
    };
    const baseline = async (): Promise<void> => {
      const response = await pool.current!.request({ method: 'GET', path: '/' });
      await response.body.dump();
    };
    await drive(ours);
    await drive(baseline);

    process.stdout.write(
      `Node ${process.version}; ${REQUESTS} GETs per round, ${CONCURRENCY} concurrent, loopback, ${ROUNDS} rounds alternating.\n\n`,
    );
    process.stdout.write(
      '| round | express-consul µs/req | undici Pool µs/req | ratio |\n|--:|--:|--:|--:|\n',
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const oursUs = await drive(ours);
      const baseUs = await drive(baseline);
      process.stdout.write(
        `| ${round} | ${oursUs.toFixed(1)} | ${baseUs.toFixed(1)} | ${(oursUs / baseUs).toFixed(2)} |\n`,
      );
    }
  } finally {
    await pool.current?.close();
    await discovery.close();
    for (let i = 0; i < 3; i++)
      await consul.deregisterService(`bench-target-${i}`).catch(() => undefined);
    await consul.close();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await agent.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exitCode = 1;
});

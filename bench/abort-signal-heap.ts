/**
 * Heap growth of the helper when every call shares one long-lived AbortSignal (an app-wide
 * shutdown signal, say). Not a test. Run: `npm run bench:signal`. Prints one JSON line:
 * requests, heap before and after (MB, after a forced GC), listeners left on the signal, and the
 * process warnings seen (MaxListenersExceededWarning would be one). Exits 1 past 2 MB or on a warning.
 */
import { getEventListeners } from 'node:events';
import { createDiscovery } from '../src';
import { ConsulClient } from '../src/consul/consul-client';
import { startConsul } from '../src/testing';
import { startTargetFleet } from './request/target-fleet';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 50_000);
const CONCURRENCY = 32;
const LIMIT_MB = 2;

function heapMb(): number {
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function main(): Promise<void> {
  if (global.gc === undefined) throw new Error('run with node --expose-gc (npm run bench:signal)');
  const warnings: string[] = [];
  process.on('warning', (warning) => warnings.push(warning.name));
  const agent = await startConsul({ mode: 'binary' });
  const fleet = await startTargetFleet(1);
  const discovery = createDiscovery({ consul: { address: agent.address }, metrics: false });
  try {
    const consul = new ConsulClient({ address: agent.address });
    await consul.registerService({
      Name: 'signal-target',
      ID: 'signal-target-0',
      Address: fleet.instances[0]!.host,
      Port: fleet.instances[0]!.port,
    });
    await consul.close();
    const client = discovery.service('signal-target');
    await client.ready();
    const shutdown = new AbortController();
    const call = async (): Promise<void> => {
      const response = await client.request({ path: '/', signal: shutdown.signal });
      await response.body.text();
    };
    // Warm up pools, JIT and the metrics children before the baseline.
    for (let i = 0; i < 2_000; i += CONCURRENCY)
      await Promise.all(Array.from({ length: CONCURRENCY }, call));
    const before = heapMb();
    const startedAt = Date.now();
    for (let i = 0; i < REQUESTS && Date.now() - startedAt < 120_000; i += CONCURRENCY) {
      await Promise.all(Array.from({ length: CONCURRENCY }, call));
    }
    await new Promise((resolve) => setImmediate(resolve));
    const after = heapMb();
    const result = {
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      heapBeforeMb: Number(before.toFixed(2)),
      heapAfterMb: Number(after.toFixed(2)),
      growthMb: Number((after - before).toFixed(2)),
      listenersLeft: getEventListeners(shutdown.signal, 'abort').length,
      warnings,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (result.growthMb >= LIMIT_MB || warnings.length > 0) process.exitCode = 1;
  } finally {
    await discovery.close();
    await fleet.stop();
    await agent.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});

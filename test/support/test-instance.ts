import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';

/** An in-process service instance registered in Consul, counting the requests it serves. */
export interface TestInstance {
  readonly adapter: ExpressConsul;
  readonly id: string;
  readonly port: number;
  /** Arrival time (Date.now()) of every request to /hello. */
  readonly hits: number[];
  /** Status /hello answers with from now on. */
  setStatus(status: number): void;
  /** Delay before /hello answers, in ms, from now on. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** Starts an instance of `name` on 127.0.0.1 with a 1 s health check, registered in Consul. */
export async function startInstance(
  name: string,
  options: {
    consulAddress?: string;
    weights?: { passing: number; warning: number };
    tags?: string[];
  } = {},
): Promise<TestInstance> {
  const app = express();
  const hits: number[] = [];
  let status = 200;
  let delayMs = 0;
  const timers = new Set<NodeJS.Timeout>();
  const adapter = expressConsul(app, {
    service: {
      name,
      check: { intervalMs: 1_000, timeoutMs: 1_000 },
      ...(options.weights && { weights: options.weights }),
      ...(options.tags && { tags: options.tags }),
    },
    ...(options.consulAddress && { consul: { address: options.consulAddress } }),
    metrics: false,
    registration: { retryMaxMs: 500 },
    shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
  });
  app.all('/hello', (_req, res) => {
    hits.push(Date.now());
    const answer = (): void => void res.status(status).json({ id: adapter.registration.serviceId });
    if (delayMs === 0) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, delayMs);
    timers.add(timer);
  });
  const server = await adapter.listen(0, '127.0.0.1');
  return {
    adapter,
    id: adapter.registration.serviceId,
    port: (server.address() as { port: number }).port,
    hits,
    setStatus(next) {
      status = next;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await adapter.close();
    },
  };
}

/** A unique service name per test, so suites sharing one agent never see each other's instances. */
export function uniqueService(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

import { once } from 'node:events';
import type { Server } from 'node:http';
import express from 'express';
import { Agent, request } from 'undici';
import { expressConsul } from '../../src';
import type { ExpressConsul, HealthIndicator } from '../../src';
import { recordingLogger } from '../support/consul-reads';
import { waitFor } from '../../harness/wait-for';

// The health route through the public API: the adapter mounts it at construction, so the app is
// served on loopback without registering anywhere (Consul is never called in these tests).

interface Served {
  readonly consul: ExpressConsul;
  readonly url: string;
  readonly lines: string[];
  /** Requests that reached the app, counted before the health route answers them. */
  readonly arrived: () => number;
}

const open: { server: Server; consul: ExpressConsul }[] = [];

async function serve(indicators: readonly HealthIndicator[]): Promise<Served> {
  const { lines, logger } = recordingLogger();
  const app = express();
  let arrived = 0;
  app.use((_request, _response, next) => {
    arrived += 1;
    next();
  });
  const consul = expressConsul(app, {
    service: { name: 'health-route-test' },
    health: { indicators, indicatorTimeoutMs: 5_000 },
    shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    logger,
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  open.push({ server, consul });
  const { port } = server.address() as { port: number };
  return { consul, url: `http://127.0.0.1:${port}/health`, lines, arrived: () => arrived };
}

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const answer = await request(url);
  return { status: answer.statusCode, body: await answer.body.json() };
}

afterEach(async () => {
  for (const { server, consul } of open.splice(0)) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    // Never attached: close() only closes the idle Consul pool.
    await consul.close();
  }
});

describe('the health route counts only the documented states', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'PASSING', ''])(
    "an indicator returning '%s' is critical (503), not passing",
    async (state) => {
      const served = await serve([
        { name: 'db', check: () => state as unknown as 'passing' },
        { name: 'cache', check: () => 'passing' },
      ]);
      const answer = await health(served.url);
      expect(answer).toEqual({
        status: 503,
        body: { status: 'critical', checks: { db: 'critical', cache: 'passing' } },
      });
    },
  );

  it('an indicator returning a number, an object or null is critical too', async () => {
    const served = await serve([
      { name: 'number', check: () => 1 as unknown as 'passing' },
      { name: 'object', check: () => ({ status: 'passing' }) as unknown as 'passing' },
      { name: 'null', check: () => null as unknown as 'passing' },
    ]);
    expect(await health(served.url)).toEqual({
      status: 503,
      body: {
        status: 'critical',
        checks: { number: 'critical', object: 'critical', null: 'critical' },
      },
    });
  });

  it('the documented states and results keep their meaning', async () => {
    const served = await serve([
      { name: 'passing', check: () => 'passing' },
      { name: 'true', check: () => true },
      { name: 'void', check: () => undefined },
      { name: 'warning', check: () => Promise.resolve('warning' as const) },
    ]);
    expect(await health(served.url)).toEqual({
      status: 429,
      body: {
        status: 'warning',
        checks: { passing: 'passing', true: 'passing', void: 'passing', warning: 'warning' },
      },
    });
  });

  it('logs an undocumented state once per indicator, naming the indicator and the value type', async () => {
    const served = await serve([{ name: 'db', check: () => 'toString' as unknown as 'passing' }]);
    for (let i = 0; i < 3; i++) expect((await health(served.url)).status).toBe(503);
    const said = served.lines.filter((line) => line.includes('undocumented'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('"indicator":"db"');
    expect(said[0]).toContain('critical');
  });
});

describe('indicator names', () => {
  it("an indicator named '__proto__' is reported under its name", async () => {
    const served = await serve([{ name: '__proto__', check: () => 'warning' }]);
    const answer = await request(served.url);
    expect(answer.statusCode).toBe(429);
    expect(await answer.body.text()).toBe('{"status":"warning","checks":{"__proto__":"warning"}}');
  });
});

describe('concurrent health requests share one evaluation', () => {
  it('200 concurrent GETs run each indicator once, and every one gets the answer', async () => {
    let checks = 0;
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const served = await serve([
      {
        name: 'db',
        check: async () => {
          checks += 1;
          await gate;
          return 'warning' as const;
        },
      },
    ]);
    const pool = new Agent({ connections: 200 });
    try {
      const answers = Array.from({ length: 200 }, () =>
        request(served.url, { dispatcher: pool }).then(async (answer) => ({
          status: answer.statusCode,
          body: await answer.body.json(),
        })),
      );
      // Every request is inside the app before the first evaluation ends.
      await waitFor(
        '200 requests in the app',
        () => (served.arrived() === 200 ? true : undefined),
        {
          intervalMs: 10,
        },
      );
      release!();
      const all = await Promise.all(answers);
      expect(checks).toBe(1);
      for (const answer of all)
        expect(answer).toEqual({
          status: 429,
          body: { status: 'warning', checks: { db: 'warning' } },
        });

      // No cache: the next request after that evaluation ended runs the indicators again.
      expect((await health(served.url)).status).toBe(429);
      expect(checks).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

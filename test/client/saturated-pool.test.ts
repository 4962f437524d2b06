// The request path when every pooled connection of an instance is taken: the call's deadline, the
// caller's signal and the per-try timeout bound the time spent queued for a connection, a queued
// request given up on is never sent later, and a stalled body frees its connection.
import type { ServerResponse } from 'node:http';
import {
  AbortedError,
  ConfigError,
  ExpressConsulError,
  RequestTimeoutError,
} from '../../src/errors';
import { Pool } from 'undici';
import { isSaturated, readsSaturationFlag } from '../../src/client/pool-saturation';
import type { ServiceResponse } from '../../src/client/service-client';
import { resolveServiceClientOptions } from '../../src/client/service-client-options';
import { waitFor } from '../../harness/wait-for';
import { entry, fixedDiscovery, stopAll, upstream } from './fixed-discovery';

afterEach(stopAll);

/** Holds responses open: headers and a first chunk sent, the body never ends until release(). */
function stallingHandler(): {
  handler: (q: unknown, r: ServerResponse) => void;
  release: () => void;
} {
  const held: ServerResponse[] = [];
  let stalling = true;
  return {
    handler: (_q, response) => {
      if (!stalling) {
        response.end('ok');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first chunk');
      held.push(response);
    },
    /** Ends the held bodies; later requests are answered at once. */
    release: () => {
      stalling = false;
      for (const response of held.splice(0)) response.end();
    },
  };
}

// Takes the call unstarted: the library's clock starts when it is called, and so must ours (its
// synchronous part, checks and the pick, would otherwise fall outside what is measured).
async function elapsedOf(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const startedAt = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - startedAt, error };
}

/** Two calls whose bodies stream on and are never read: both connections of the instance are taken. */
async function saturate(service: { request: () => Promise<ServiceResponse> }): Promise<void> {
  await Promise.all([service.request(), service.request()]);
}

describe('isSaturated', () => {
  it("reads undici's own flag (an undici upgrade that renames it fails here, not in production)", async () => {
    const stall = stallingHandler();
    const up = await upstream(stall.handler);
    const pool = new Pool(`http://127.0.0.1:${up.port}`, { connections: 1 });
    try {
      expect(readsSaturationFlag(pool)).toBe(true);
      expect(isSaturated(pool)).toBe(false);
      const held = await pool.request({ method: 'GET', path: '/' });
      expect(isSaturated(pool)).toBe(true);
      stall.release();
      await held.body.dump();
      await waitFor('the connection to free up', () => (isSaturated(pool) ? undefined : true));
    } finally {
      await pool.destroy();
    }
  });
});

describe('ServiceClient: a saturated pool', () => {
  it('holds the call deadline while queued for a connection, and never sends the request later', async () => {
    const stall = stallingHandler();
    const up = await upstream(stall.handler);
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', up.port)] },
      { client: { connectionsPerInstance: 2, outlierDetection: false } },
    );
    const pay = d.service('pay');
    await saturate({ request: () => pay.request() });
    expect(up.received).toBe(2);

    const { ms, error } = await elapsedOf(() => pay.request({ deadlineMs: 1000 }));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).timeoutMs).toBe(1000);
    expect(ms).toBeGreaterThanOrEqual(1000 - 5);
    expect(ms).toBeLessThanOrEqual(1000 + 100);

    // Once the connections free up, the request given up on is dropped, not delivered late.
    stall.release();
    const after = await pay.request();
    expect(after.statusCode).toBe(200);
    await after.body.dump();
    expect(up.received).toBe(3);
  });

  it("holds the caller's signal while queued for a connection", async () => {
    const stall = stallingHandler();
    const up = await upstream(stall.handler);
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', up.port)] },
      { client: { connectionsPerInstance: 2, outlierDetection: false } },
    );
    const pay = d.service('pay');
    await saturate({ request: () => pay.request() });

    const { ms, error } = await elapsedOf(() =>
      pay.request({ method: 'POST', body: 'charge', signal: AbortSignal.timeout(500) }),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(ms).toBeGreaterThanOrEqual(500 - 5);
    expect(ms).toBeLessThanOrEqual(500 + 100);
    expect((error as AbortedError).mayHaveBeenProcessed).toBe(true);

    stall.release();
    const after = await pay.request();
    await after.body.dump();
    // The aborted POST was never delivered: only the two saturating calls and this one arrived.
    expect(up.received).toBe(3);
  });

  it('moves a call whose per-try timeout passed while queued to another instance', async () => {
    const stall = stallingHandler();
    const busy = await upstream(stall.handler);
    const free = await upstream();
    const d = fixedDiscovery(
      { pay: [entry('pay', 'busy', busy.port), entry('pay', 'free', free.port)] },
      {
        client: {
          connectionsPerInstance: 2,
          outlierDetection: false,
          retryBackoff: { baseMs: 0 },
        },
      },
    );
    const pay = d.service('pay');
    // Round robin: of these four calls two land on the busy instance and take both its connections.
    const first = await Promise.all([1, 2, 3, 4].map(() => pay.request()));
    expect(busy.received).toBe(2);
    await Promise.all(first.filter((r) => r.instance.service === 'free').map((r) => r.body.dump()));

    const calls = await Promise.all(
      [1, 2, 3, 4].map(() => elapsedOf(() => pay.request({ timeoutMs: 300 }).then((r) => r))),
    );
    // Every call succeeded (none hung on the busy instance), the retried ones after one try timeout.
    for (const { error } of calls) expect(error).toBeUndefined();
    expect(Math.max(...calls.map((c) => c.ms))).toBeLessThanOrEqual(300 + 100);
    expect(busy.received).toBe(2);
    expect(free.received).toBe(2 + 4);
    stall.release();
  });

  it('destroys a saturated pool with a call queued in it: destroy() resolves, the call fails typed', async () => {
    const stall = stallingHandler();
    const up = await upstream(stall.handler);
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', up.port)] },
      { client: { connectionsPerInstance: 2, outlierDetection: false } },
    );
    const pay = d.service('pay');
    await saturate({ request: () => pay.request() });
    const queued = pay.request({ method: 'POST', body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // undici's pool.close() never settles once destroy() empties a non-empty queue: a drain's
    // deadline must not hang on it.
    const destroyed = await Promise.race([
      d.destroy().then(() => 'destroyed'),
      new Promise((resolve) => setTimeout(resolve, 5_000, 'still waiting')),
    ]);
    expect(destroyed).toBe('destroyed');
    expect(await queued).toBeInstanceOf(ExpressConsulError);
    expect(up.received).toBe(2);
  });

  it('frees a connection whose body stalls, after bodyTimeoutMs', async () => {
    const stall = stallingHandler();
    const up = await upstream(stall.handler);
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', up.port)] },
      { client: { connectionsPerInstance: 1, bodyTimeoutMs: 300, outlierDetection: false } },
    );
    const pay = d.service('pay');
    const stalled = await pay.request();
    const broken = stalled.body.text().then(
      () => undefined,
      (e: unknown) => e,
    );
    up.handler = (_q, r) => r.end('ok');
    const { ms, error } = await elapsedOf(() =>
      pay.request({ timeoutMs: 2000 }).then((r) => r.body.text()),
    );
    expect(error).toBeUndefined();
    // Served only once the stalled body gave up its connection: not before bodyTimeoutMs, and at
    // most about a second after it (undici's fast timers tick every 0.5 s and fire on the 2nd tick).
    expect(ms).toBeGreaterThanOrEqual(300 - 5);
    expect(ms).toBeLessThanOrEqual(300 + 1500);
    expect(await waitFor('the stalled body to fail', () => broken)).toMatchObject({
      code: 'UND_ERR_BODY_TIMEOUT',
    });
    stall.release();
  });

  it('takes bodyTimeoutMs, 30 s by default', () => {
    expect(resolveServiceClientOptions({ bodyTimeoutMs: 1000 }).bodyTimeoutMs).toBe(1000);
    expect(resolveServiceClientOptions({}).bodyTimeoutMs).toBe(30_000);
  });

  it.each([0, -1, Number.NaN, 'soon'])('refuses bodyTimeoutMs %p naming the field', (value) => {
    expect(() => fixedDiscovery({}, { client: { bodyTimeoutMs: value as number } })).toThrow(
      ConfigError,
    );
    expect(() => fixedDiscovery({}, { client: { bodyTimeoutMs: value as number } })).toThrow(
      /client\.bodyTimeoutMs/,
    );
  });
});

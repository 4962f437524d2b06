// The lease's trust window against real blocking queries: a lock held while nothing changes in
// Consul must stay held. Each confirmation renews the trust from the send time of the query that
// saw our session, so a query that blocks longer than the window (the bug this pins: every lease
// was lost after lockDelay - margin, 1.6 s at a 2 s delay) lets the trust run out while Consul is
// fine and the session valid.
import { ConsulClient } from '../../src/consul/consul-client';
import { ConsulLock } from '../../src/leader/consul-lock';
import type { LockLease } from '../../src/leader/consul-lock';
import type { Logger } from '../../src/logger';

const LOCK_DELAY_MS = 1_000;
const HELD_FOR_LOCK_DELAYS = 5;
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

describe('a held lock with no change in Consul', () => {
  const client = new ConsulClient({ address: process.env.CONSUL_HTTP_ADDR! });
  let lock: ConsulLock | undefined;
  afterAll(async () => {
    await lock?.close();
    await client.close();
  });

  it(`stays held for ${HELD_FOR_LOCK_DELAYS} lock delays (the blocking wait fits the trust window)`, async () => {
    lock = new ConsulLock(
      client,
      {
        key: `lease-trust/${process.pid}`,
        lockDelayMs: LOCK_DELAY_MS,
        sessionName: 'express-consul trust-window test',
        nodeChecks: ['serfHealth'],
        serviceChecks: [],
        holder: { test: 'trust-window' },
        retry: { baseMs: 50, maxMs: 200 },
      },
      silent,
    );
    const lease: LockLease = await lock.acquire({ wait: false });
    const acquiredAt = Date.now();
    let lostAfterMs: number | undefined;
    lease.signal.addEventListener('abort', () => {
      lostAfterMs = Date.now() - acquiredAt;
    });
    // Not a sleep for synchronisation: the time held is the quantity under test (the key is
    // not touched, so nothing else can end the wait earlier than a loss would).
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, HELD_FOR_LOCK_DELAYS * LOCK_DELAY_MS);
      lease.signal.addEventListener('abort', () => {
        clearTimeout(done);
        resolve();
      });
    });
    expect({ held: lease.held, lostAfterMs }).toEqual({ held: true, lostAfterMs: undefined });
    // Consul agrees: our session still holds the key.
    const { data } = await client.kvGet(lock.key);
    expect(data[0]?.Session).toBeDefined();
  }, 30_000);
});

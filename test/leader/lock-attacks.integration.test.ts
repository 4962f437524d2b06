// A lock whose key or session someone else touches, on the shared dev agent: the key deleted or
// overwritten while held, the session destroyed from outside, a foreign session holding the key.
import { ConsulClient } from '../../src/consul/consul-client';
import { LeaseLostError } from '../../src/errors';
import { ConsulLock } from '../../src/leader/consul-lock';
import { LockHeldError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import { waitFor } from '../../harness/wait-for';

const address = (): string => process.env.CONSUL_HTTP_ADDR!;
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
let unique = 0;

async function consul(method: string, path: string, body?: string): Promise<unknown> {
  const response = await fetch(
    `${address()}${path}`,
    body === undefined ? { method } : { method, body },
  );
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
const holderOf = async (key: string): Promise<string | undefined> =>
  ((await consul('GET', `/v1/kv/${key}`)) as { Session?: string }[] | undefined)?.[0]?.Session;
const sessionExists = async (id: string): Promise<boolean> =>
  ((await consul('GET', `/v1/session/info/${id}`)) as unknown[] | null)?.length === 1;

describe('a lock attacked from outside', () => {
  const client = new ConsulClient({ address: address() });
  const locks: ConsulLock[] = [];
  const lockOn = (key: string): ConsulLock => {
    const lock = new ConsulLock(
      client,
      {
        key,
        lockDelayMs: 1_000,
        sessionName: 'express-consul lock-attacks test',
        nodeChecks: ['serfHealth'],
        serviceChecks: [],
        holder: { test: 'lock-attacks' },
        retry: { baseMs: 50, maxMs: 200 },
      },
      silent,
    );
    locks.push(lock);
    return lock;
  };
  const keyOf = (name: string): string => `lock-attacks/${process.pid}/${++unique}/${name}`;
  afterAll(async () => {
    await Promise.all(locks.map((lock) => lock.close()));
    await client.close();
  });

  it('loses the lease when the key is deleted, and destroys the session it leaves behind', async () => {
    const key = keyOf('deleted');
    const lock = lockOn(key);
    const lease = await lock.acquire({ wait: false });
    const session = (await holderOf(key))!;
    await consul('DELETE', `/v1/kv/${key}`);
    await waitFor('the lease to end', () => (lease.held ? undefined : true));
    expect((lease.signal.reason as LeaseLostError).reason).toBe('session-invalidated');
    // The session is still valid in Consul (only the key went): left alone, every such loss
    // would add one more session bound to the service's check until it deregisters.
    await waitFor('the orphaned session to be destroyed', async () =>
      (await sessionExists(session)) ? undefined : true,
    );
    const again = await lock.acquire({ wait: false });
    expect(again.held).toBe(true);
    expect(await holderOf(key)).not.toBe(session);
  });

  it('loses the lease when its session is destroyed from outside, then contends with a new one', async () => {
    const key = keyOf('destroyed');
    const lock = lockOn(key);
    const lease = await lock.acquire({ wait: false });
    const session = (await holderOf(key))!;
    await consul('PUT', `/v1/session/destroy/${session}`);
    await waitFor('the lease to end', () => (lease.held ? undefined : true));
    expect((lease.signal.reason as LeaseLostError).reason).toBe('session-invalidated');
    const again = await lock.acquire();
    expect(again.held).toBe(true);
    const second = await holderOf(key);
    expect(second).toBeDefined();
    expect(second).not.toBe(session);
    await lock.close();
    expect(await sessionExists(second!)).toBe(false);
  });

  it('keeps the lease when someone overwrites the value without the lock (Consul keeps the holder)', async () => {
    const key = keyOf('overwritten');
    const lock = lockOn(key);
    const lease = await lock.acquire({ wait: false });
    const session = await holderOf(key);
    await consul('PUT', `/v1/kv/${key}`, 'not yours');
    // A plain PUT changes the value, not the holder: the hold watch wakes on it and sees our session.
    await waitFor('Consul to keep the holder', async () =>
      (await holderOf(key)) === session ? true : undefined,
    );
    expect(lease.held).toBe(true);
  });

  it('reports a foreign session holding the key, and takes it once that session lets go', async () => {
    const key = keyOf('foreign');
    const foreign = (
      (await consul(
        'PUT',
        '/v1/session/create',
        JSON.stringify({ Name: 'foreign', LockDelay: '0s' }),
      )) as {
        ID: string;
      }
    ).ID;
    expect(await consul('PUT', `/v1/kv/${key}?acquire=${foreign}`, 'foreign')).toBe(true);
    const lock = lockOn(key);
    const held = await lock.acquire({ wait: false }).catch((error: unknown) => error);
    expect(held).toBeInstanceOf(LockHeldError);
    expect((held as LockHeldError).holder).toBe(foreign);
    const waiting = lock.acquire();
    await consul('PUT', `/v1/kv/${key}?release=${foreign}`);
    expect((await waiting).held).toBe(true);
    await consul('PUT', `/v1/session/destroy/${foreign}`);
  });
});

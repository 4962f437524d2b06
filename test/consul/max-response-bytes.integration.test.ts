// consul.maxResponseBytes against a real Consul agent: an answer above the cap is a typed error,
// and a watch whose answer grows past it keeps serving its last good list.
import { ConsulResponseTooLargeError } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { ServiceWatcher } from '../../src/watch/service-watcher';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { DEFAULTS } from '../../src/config/defaults';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const CONSUL = (): string => process.env.CONSUL_HTTP_ADDR!;

async function consulPut(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${CONSUL()}${path}`, {
    method: 'PUT',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** Bytes of Consul's answer for `name` right now, as the watcher would read it. */
async function answerBytes(name: string): Promise<number> {
  const response = await fetch(`${CONSUL()}/v1/health/service/${name}?passing`);
  return (await response.arrayBuffer()).byteLength;
}

describe('consul.maxResponseBytes', () => {
  const ids: string[] = [];

  afterEach(async () => {
    for (const id of ids.splice(0)) {
      await consulPut(`/v1/agent/service/deregister/${id}`).catch(() => undefined);
    }
  });

  async function register(name: string, index: number, metaBytes = 0): Promise<void> {
    const id = `${name}-${index}`;
    const meta: Record<string, string> = {};
    // Consul allows 64 keys of up to 512 characters each.
    for (let k = 0; metaBytes > 0 && k < 64; k++, metaBytes -= 500) meta[`k${k}`] = 'm'.repeat(500);
    await consulPut('/v1/agent/service/register', {
      ID: id,
      Name: name,
      Address: '127.0.0.1',
      Port: 20_000 + index,
      Meta: meta,
    });
    ids.push(id);
  }

  it('has a documented default that holds a 50,000-instance answer, and refuses nonsense', () => {
    // A real entry (agent registration, one HTTP check plus serfHealth) is about 2.7 KB.
    expect(DEFAULTS.consul.maxResponseBytes).toBe(256 * 1024 * 1024);
    expect(DEFAULTS.consul.maxResponseBytes).toBeGreaterThan(50_000 * 2_700);
    expect(resolveConsulConnection({}, {}).maxResponseBytes).toBe(256 * 1024 * 1024);
    expect(resolveConsulConnection({ maxResponseBytes: 4096 }, {}).maxResponseBytes).toBe(4096);
    for (const bad of [0, -1, 1.5, '1', Number.NaN, 2 ** 40]) {
      let thrown: unknown;
      try {
        resolveConsulConnection({ maxResponseBytes: bad as number }, {});
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ path: 'consul.maxResponseBytes' });
    }
  });

  it('fails a read whose answer is larger with ConsulResponseTooLargeError', async () => {
    const name = uniqueService('max-bytes');
    for (let i = 0; i < 4; i++) await register(name, i);
    const size = await answerBytes(name);
    const client = new ConsulClient({ address: CONSUL(), maxResponseBytes: size - 1 });
    const exact = new ConsulClient({ address: CONSUL(), maxResponseBytes: size });
    try {
      await expect(client.healthService(name, { passingOnly: true })).rejects.toMatchObject({
        name: 'ConsulResponseTooLargeError',
        code: 'EXPRESS_CONSUL_RESPONSE_TOO_LARGE',
        limitBytes: size - 1,
        endpoint: `GET /v1/health/service/${name}`,
      });
      expect((await exact.healthService(name, { passingOnly: true })).data).toHaveLength(4);
    } finally {
      await client.close();
      await exact.close();
    }
  });

  it('keeps the last good list when the answer grows past the cap, and recovers', async () => {
    const name = uniqueService('max-bytes-watch');
    await register(name, 0);
    await register(name, 1);
    // Room for the two and a small third, not for a third carrying 30 KB of meta.
    const cap = (await answerBytes(name)) + 4_000;
    const client = new ConsulClient({ address: CONSUL(), maxResponseBytes: cap });
    const watcher = new ServiceWatcher(client, name, {
      waitMs: 5_000,
      backoff: { baseMs: 50, maxMs: 200 },
    });
    const errors: Error[] = [];
    watcher.onError((event) => errors.push(event.error));
    try {
      await watcher.ready();
      expect(watcher.instances()).toHaveLength(2);
      const good = watcher.instances();

      await register(name, 2, 30_000);
      await waitFor('a too-large answer', () => (errors.length > 0 ? true : undefined));
      expect(errors[0]).toBeInstanceOf(ConsulResponseTooLargeError);
      expect(watcher.instances()).toBe(good);
      expect(watcher.status()).toMatchObject({ stale: true, ready: true });

      await consulPut(`/v1/agent/service/deregister/${name}-2`);
      await register(name, 3);
      await waitFor('the small answer again', () =>
        watcher.instances().length === 3 ? true : undefined,
      );
      expect(watcher.status().stale).toBe(false);
      expect(watcher.instances().map((i) => i.serviceId)).toEqual([
        `${name}-0`,
        `${name}-1`,
        `${name}-3`,
      ]);
    } finally {
      await watcher.close();
      await client.close();
    }
  });
});

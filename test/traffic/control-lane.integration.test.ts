// Traffic management's blocking watches (three config-entry lists, one chain per service with
// entries) against the control lane of HTTP/1.1 (hostile review of issue #15): on it they took
// every one of its 4 connections, and a KV configuration's or a lock's blocking read waited in
// the queue until one of them returned, up to a whole wait. They belong on the watch lane, where
// the watch scheduler leaves them room. Real dev agent, one ConsulClient shared as in an app.
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { Discovery } from '../../src/client/discovery';
import type { WatcherRegistry } from '../../src/watch/watcher-registry';
import { ConsulClient } from '../../src/consul/consul-client';
import { silentLogger } from '../../src/logger';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const address = (): string => process.env.CONSUL_HTTP_ADDR!;

async function consulCall(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${address()}${path}`, {
    method,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
}

describe('traffic watches and the control lane (HTTP/1.1, real Consul)', () => {
  const services = [uniqueService('cl-a'), uniqueService('cl-b')];
  const keys = Array.from({ length: 4 }, (_, i) => `${uniqueService('cl-key')}/${i}`);
  let consul: ConsulClient;
  let discovery: Discovery;

  beforeAll(async () => {
    for (const name of services) {
      await consulCall('PUT', '/v1/config', {
        Kind: 'service-resolver',
        Name: name,
        ConnectTimeout: '5s',
      });
    }
    consul = new ConsulClient({ address: address() });
    // A long wait: a KV read queued behind a traffic watch would wait for all of it.
    discovery = new Discovery(
      consul,
      resolveDiscoveryOptions({ trafficManagement: true, watch: { waitMs: 20_000 } }),
      undefined,
      silentLogger,
    );
  });

  afterAll(async () => {
    await discovery?.close();
    await consul?.close();
    for (const name of services) await consulCall('DELETE', `/v1/config/service-resolver/${name}`);
    for (const key of keys) await consulCall('DELETE', `/v1/kv/${key}`);
  });

  it('blocking KV reads on all 4 control connections answer at once while 5 traffic watches block', async () => {
    expect(consul.lanePlan.protocol).toBe('http/1.1');
    expect(consul.lanePlan.control.connections).toBe(4);
    for (const name of services) discovery.service(name);
    await waitFor('both services route by their chain', () =>
      services.every((name) => discovery.service(name).trafficPlan !== undefined)
        ? true
        : undefined,
    );
    // 3 lists + 2 chains now wait on Consul with an index (nothing changes them during the test).
    // Keys that exist: a blocking read of a missing key answers on any KV write.
    for (const key of keys) await consulCall('PUT', `/v1/kv/${key}`, 'initial');
    const indexes = await Promise.all(
      keys.map(async (key) => (await consul.kvGet(key)).meta.index!),
    );
    const reads = keys.map(async (key, i) => {
      const answer = await consul.kvGet(key, { index: indexes[i]!, waitMs: 15_000 });
      return { answeredAt: performance.now(), value: answer.data[0]?.Value };
    });
    const writtenAt = performance.now();
    for (const key of keys) await consulCall('PUT', `/v1/kv/${key}`, 'changed');
    const answers = await Promise.all(reads);
    const lagMs = answers.map((a) => a.answeredAt - writtenAt);
    process.stdout.write(
      `blocking KV reads beside 5 traffic watches: answered ${lagMs.map((ms) => ms.toFixed(0)).join(', ')} ms after the writes began\n`,
    );
    expect(answers.map((a) => a.value)).toEqual(keys.map(() => 'changed'));
    expect(Math.max(...lagMs)).toBeLessThan(2_000);
  });

  it('the traffic watches take 3 slots of the watch lane, whatever the number of chains', () => {
    const registry = (discovery as unknown as { registry: WatcherRegistry }).registry;
    // More services than slots, so the scheduler fills every slot it believes it has.
    for (let i = 0; i < 30; i++) discovery.service(uniqueService(`cl-many-${i}`));
    const plan = consul.lanePlan;
    const blocking = plan.watch.connections;
    const status = registry.schedulerStatus()!;
    process.stdout.write(
      `watch lane: ${blocking} blocking connections, ${status.slotted} slotted health watches, ${status.polled} polled\n`,
    );
    // Less one for the check watch that follows the services without a slot, and the 3 entry
    // lists: the chains block on nothing (they read when a list answers anew). Were each chain a
    // blocking query too, 20 services with entries would take every slot.
    expect(status.slotted).toBe(blocking - 1 - 3);
  });
});

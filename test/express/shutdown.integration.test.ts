import { request } from 'undici';
import { ConsulClient } from '../../src/consul/consul-client';
import { startExample } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { healthEntry } from '../support/consul-reads';

describe('graceful shutdown of the my_service example on SIGTERM', () => {
  const client = new ConsulClient();
  let service: ChildService | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    await service?.exited;
    await client.close();
  });

  it('answers the in-flight slow request with 200 and is gone from the catalog when it exits', async () => {
    service = startExample('my-service', {
      CHECK_INTERVAL_MS: '1000',
      PROPAGATION_DELAY_MS: '300',
      DRAIN_TIMEOUT_MS: '5000',
      ANNOUNCE_SLOW: '1',
      INSTANCE_NAME: 'shutdown-test',
    });
    const listening = await service.next('listening');
    const id = listening.id as string;
    const port = listening.port as number;
    expect(await healthEntry(client, 'my_service', id)).toBeDefined();

    const slow = request(`http://127.0.0.1:${port}/slow?ms=1000`);
    await service.next('slow-request');
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');

    const response = await slow;
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toMatchObject({ slept: 1000, id });
    // The drain ran for the slow request, not for the whole deadline.
    const exit = await service.exited;
    const drainMs = Date.now() - signalledAt;
    expect(exit.signal ?? exit.code).toBe('SIGTERM');
    expect(drainMs).toBeLessThan(5_000);
    expect(await healthEntry(client, 'my_service', id)).toBeUndefined();
    expect(await client.getAgentService(id)).toBeUndefined();
  });
});

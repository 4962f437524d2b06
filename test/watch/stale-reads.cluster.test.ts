import { ConsulClient } from '../../src/consul/consul-client';
import { ServiceWatcher } from '../../src/watch/service-watcher';
import { ConsulUnavailableError } from '../../src/errors';
import { startConsulCluster } from '../../src/testing';
import type { StartedConsulCluster } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';

describe('a 3-server cluster that loses its quorum', () => {
  let cluster: StartedConsulCluster;
  const clients: ConsulClient[] = [];
  const watchers: ServiceWatcher[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster({ servers: 3 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(watchers.map((watcher) => watcher.close()));
    await Promise.all(clients.map((client) => client.close()));
    await cluster.stop();
  });

  const clientOf = (address: string): ConsulClient => {
    const client = new ConsulClient({ address, requestTimeoutMs: 5_000 });
    clients.push(client);
    return client;
  };
  const watch = (client: ConsulClient, stale: boolean): ServiceWatcher => {
    const watcher = new ServiceWatcher(client, 'clustered', {
      stale,
      waitMs: 1_000,
      backoff: { baseMs: 100, maxMs: 500 },
    });
    watchers.push(watcher);
    return watcher;
  };

  it('serves discovery from a follower with `stale` while no leader exists; default reads fail', async () => {
    const [first, second, survivor] = cluster.servers as [
      ConsulClusterServer,
      ConsulClusterServer,
      ConsulClusterServer,
    ];
    await clientOf(first.address).registerService({
      Name: 'clustered',
      ID: 'clustered-1',
      Address: '127.0.0.1',
      Port: 9,
    });
    const reader = clientOf(survivor.address);
    await waitFor('replication to the third server', async () => {
      const { data } = await reader.healthService('clustered', { stale: true });
      return data.length === 1 ? true : undefined;
    });
    const running = [watch(reader, true), watch(reader, false)];
    await Promise.all(running.map((watcher) => watcher.ready()));

    await Promise.all([first.stop(), second.stop()]);

    const leaderless = await waitFor(
      'the survivor to lose its leader',
      async () => {
        const answer = await reader.healthService('clustered', { stale: true });
        return answer.meta.knownLeader ? undefined : answer;
      },
      { timeoutMs: 20_000 },
    );
    expect(leaderless.data.map((entry) => entry.Service.ID)).toEqual(['clustered-1']);
    const error = await reader.healthService('clustered').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsulUnavailableError);
    expect((error as ConsulUnavailableError).status).toBe(500);

    // Watches already running keep their list either way (Consul 1.16 even keeps answering their
    // blocking queries locally). The difference shows for a process that starts now: with `stale`
    // it discovers from the survivor, without it it gets only errors and an empty list.
    for (const watcher of running)
      expect(watcher.instances().map((i) => i.serviceId)).toEqual(['clustered-1']);
    const freshStale = watch(reader, true);
    const freshDefault = watch(reader, false);
    const firstError = new Promise((resolve) => freshDefault.onError(resolve));
    freshDefault.start();
    await freshStale.ready();
    expect(freshStale.instances().map((i) => i.serviceId)).toEqual(['clustered-1']);
    await firstError;
    expect(freshDefault.status()).toMatchObject({ ready: false, stale: true });
    expect(freshDefault.instances()).toEqual([]);
  }, 60_000);
});

type ConsulClusterServer = StartedConsulCluster['servers'][number];

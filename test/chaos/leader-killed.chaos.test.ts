// Scenario 6: the Raft leader of a 3-server Consul cluster stopped under load (SIGTERM; a server
// does not leave the cluster on it, so the others must elect a new leader). The library and the
// instances use a follower. Calls never fail (the watch keeps its last list while reads fail), and
// a deregistration made after the re-election reaches the routing table; the test prints both gaps.
// The naive control reads through the same follower and fails while there is no leader.
import { request } from 'undici';
import { startConsulCluster } from '../../src/testing';
import type { StartedConsul, StartedConsulCluster } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';

async function json<T>(url: string): Promise<T> {
  const response = await request(url);
  const body = (await response.body.json()) as T;
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
  return body;
}

/** The server that is the Raft leader now, as the cluster's raft configuration says. */
async function leaderOf(
  cluster: StartedConsulCluster,
  asking: StartedConsul,
): Promise<StartedConsul> {
  const raft = await json<{ Servers: { Node: string; Leader: boolean }[] }>(
    `${asking.address}/v1/operator/raft/configuration`,
  );
  const leaderNode = raft.Servers.find((server) => server.Leader)?.Node;
  for (const server of cluster.servers) {
    if (server.pid === undefined) continue;
    const self = await json<{ Config: { NodeName: string } }>(`${server.address}/v1/agent/self`);
    if (self.Config.NodeName === leaderNode) return server;
  }
  throw new Error(`no server is the leader ${String(leaderNode)}`);
}

describe('chaos: Consul leader killed', () => {
  let cluster: StartedConsulCluster | undefined;
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
    await cluster?.stop();
  });

  it('fails no call through a re-election, and a later deregistration reaches the watch', async () => {
    cluster = await startConsulCluster({ servers: 3 });
    const first = cluster.servers[0]!;
    const leader = await waitFor('a leader', () => leaderOf(cluster!, first), {
      timeoutMs: 30_000,
    });
    const follower = cluster.servers.find((server) => server !== leader)!;
    scenario = await startScenario(
      { service: 'chaos-leader', size: 3, consulAddress: follower.address },
      {
        consul: { requestTimeoutMs: 2_000 },
        watch: { waitMs: 2_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      },
      { lookupCacheMs: 200, timeoutMs: 2_000 },
      false,
      follower.address,
    );
    const { fleet, client, naive } = scenario;
    const leaving = fleet.instances[2]!;
    const gaps = { electionMs: 0, deregistrationSeenMs: 0 };

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 120_000,
      action: async () => {
        const stoppedAt = Date.now();
        await leader.stop();
        await waitFor(
          'a new leader',
          async () => {
            const now = await leaderOf(cluster!, follower);
            return now !== leader ? now : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        gaps.electionMs = Date.now() - stoppedAt;
        const drainedAt = Date.now();
        await fleet.drain(leaving);
        await waitFor(
          'the deregistration to reach the watch',
          () =>
            client.instances().some((i) => i.serviceId === leaving.serviceId) ? undefined : true,
          { timeoutMs: 30_000, intervalMs: 20 },
        );
        gaps.deregistrationSeenMs = Date.now() - drainedAt;
      },
    });
    await scenario.record('6 Consul leader killed', counts.library, counts.control);
    process.stdout.write(
      `[chaos] new leader after ${gaps.electionMs} ms; deregistration (drain included) seen after ${gaps.deregistrationSeenMs} ms\n`,
    );

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(client.instances()).toHaveLength(2);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});

// Configuration and leader election through a 3-server cluster whose Raft leader is killed
// (SIGKILL: no step-down, no leave). Everything talks to a follower's HTTP API, which keeps
// serving; the cluster has no leader until the two survivors elect one.
// - Two ConsulConfig watches (default and `stale`) on one key: get() is sampled every 5 ms and
//   must never be without a value; writes are tried every 100 ms from the kill on: those that
//   fail must never be seen, the first that succeeds after the re-election must arrive (the
//   missed-change case of Spring Cloud Consul #731).
// - Three processes (test/leader/fixtures/leader-service.ts) registered on the follower elect a
//   leader; an observer samples their reported state every 10 ms: never two leaders, exactly
//   one again after the re-election. The test prints the gaps.
import { z } from 'zod';
import { createConfig } from '../../src/kv/create-config';
import type { ConsulConfig } from '../../src/kv/consul-config';
import { startScript } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { startConsulCluster } from '../../src/testing';
import type { StartedConsul, StartedConsulCluster } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';

const LOCK_DELAY_MS = 2_000;
const SERVICE = `cluster-leader-${process.pid}`;
const KEY = `cluster-kv/${process.pid}/settings`;
const Settings = z.object({ version: z.number().int() });

interface Instance {
  readonly service: ChildService;
  readonly id: string;
  leader: boolean;
  gains: number[];
  losses: number[];
}

async function raftLeader(server: StartedConsul): Promise<string> {
  const response = await fetch(`${server.address}/v1/status/leader`, {
    signal: AbortSignal.timeout(2_000),
  });
  return (await response.json()) as string;
}

/** PUT through the follower; true only for Consul's `true` answer (500 "No cluster leader" is false). */
async function put(server: StartedConsul, version: number): Promise<boolean> {
  try {
    const response = await fetch(`${server.address}/v1/kv/${KEY}`, {
      method: 'PUT',
      body: JSON.stringify({ version }),
      signal: AbortSignal.timeout(3_000),
    });
    return response.status === 200 && (await response.text()).trim() === 'true';
  } catch {
    return false;
  }
}

describe('chaos: KV configuration and leader election while the Consul leader is killed', () => {
  let cluster: StartedConsulCluster | undefined;
  const instances: Instance[] = [];
  const configs: ConsulConfig<{ version: number }>[] = [];
  const timers: NodeJS.Timeout[] = [];

  afterAll(async () => {
    timers.forEach(clearInterval);
    await Promise.all(configs.map((config) => config.close()));
    for (const instance of instances) instance.service.child.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.service.exited));
    await cluster?.stop();
  });

  it('keeps a value, misses no change, and never has two leaders through a re-election', async () => {
    cluster = await startConsulCluster({ servers: 3 });
    const first = cluster.servers[0]!;
    const leaderAddress = await waitFor(
      'a Raft leader',
      async () => (await raftLeader(first)) || undefined,
      {
        timeoutMs: 30_000,
      },
    );
    // The server whose Raft address is the leader's: its server port is not exposed, so ask each.
    const isLeader = async (server: StartedConsul): Promise<boolean> => {
      const self = (await (await fetch(`${server.address}/v1/agent/self`)).json()) as {
        Member: { Addr: string; Tags: Record<string, string> };
      };
      return `${self.Member.Addr}:${self.Member.Tags.port}` === leaderAddress;
    };
    const flags = await Promise.all(cluster.servers.map(isLeader));
    const leader = cluster.servers[flags.indexOf(true)]!;
    const follower = cluster.servers.find((server) => server !== leader)!;
    expect(flags.filter(Boolean)).toHaveLength(1);

    expect(await put(follower, 0)).toBe(true);
    for (const stale of [false, true]) {
      configs.push(
        createConfig(KEY, {
          schema: Settings,
          stale,
          waitMs: 1_000,
          backoff: { baseMs: 50, maxMs: 500 },
          metrics: false,
          consul: { address: follower.address, requestTimeoutMs: 3_000 },
        }),
      );
    }
    await Promise.all(configs.map((config) => config.ready()));
    const seen = configs.map(() => new Set<number>());
    configs.forEach((config, i) => config.onChange((event) => seen[i]!.add(event.value.version)));

    for (let n = 0; n < 3; n += 1) {
      const service = startScript('test/leader/fixtures/leader-service.ts', {
        SERVICE_NAME: SERVICE,
        LOCK_DELAY_MS: String(LOCK_DELAY_MS),
        CHECK_INTERVAL_MS: '1000',
        CONSUL_HTTP_ADDR: follower.address,
      });
      const listening = await service.next('listening');
      const instance: Instance = {
        service,
        id: String(listening.id),
        leader: false,
        gains: [],
        losses: [],
      };
      instances.push(instance);
      void (async () => {
        for (;;) {
          const event = await service.next('leader').catch(() => undefined);
          if (!event) break;
          instance.leader = event.leader === true;
          (instance.leader ? instance.gains : instance.losses).push(Number(event.at));
        }
        instance.leader = false;
      })();
    }
    const leaders = (): Instance[] => instances.filter((instance) => instance.leader);
    let leaderSamples = 0;
    let twoLeaders = 0;
    let configSamples = 0;
    let withoutValue = 0;
    timers.push(
      setInterval(() => {
        leaderSamples += 1;
        if (leaders().length > 1) twoLeaders += 1;
      }, 10),
      setInterval(() => {
        for (const config of configs) {
          configSamples += 1;
          try {
            if (config.get() === undefined) withoutValue += 1;
          } catch {
            withoutValue += 1;
          }
        }
      }, 5),
    );
    await waitFor('one elected instance', () => (leaders().length === 1 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 10,
    });

    const killedAt = Date.now();
    await leader.kill();
    // Writes from the kill on, one at a time every 100 ms, until one succeeds after the re-election.
    const failed: number[] = [];
    let version = 0;
    let written: { version: number; at: number } | undefined;
    while (!written && Date.now() - killedAt < 60_000) {
      version += 1;
      const sentAt = Date.now();
      if (await put(follower, version)) written = { version, at: Date.now() };
      else {
        failed.push(version);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, 100 - (Date.now() - sentAt))),
        );
      }
    }
    const newLeader = await waitFor(
      'a new Raft leader',
      async () => {
        const now = await raftLeader(follower).catch(() => '');
        return now && now !== leaderAddress ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const electedAt = Date.now();
    expect(newLeader).not.toBe(leaderAddress);
    expect(written).toBeDefined();
    const arrivals = await Promise.all(
      configs.map((config) =>
        waitFor(
          'the first write after the re-election',
          () => (config.get().version === written!.version ? Date.now() - written!.at : undefined),
          { timeoutMs: 10_000, intervalMs: 5 },
        ),
      ),
    );
    const oneLeader = await waitFor(
      'exactly one elected instance again',
      () => {
        const now = leaders();
        return now.length === 1 ? now[0] : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 10 },
    );
    const lastLoss = Math.max(0, ...instances.flatMap((instance) => instance.losses));
    const instanceGapMs = lastLoss > 0 ? oneLeader.gains.at(-1)! - lastLoss : 0;

    process.stdout.write(
      `[chaos] Raft leader killed: no leader for <= ${electedAt - killedAt} ms; ` +
        `${failed.length} writes failed meanwhile; first good write seen after ${arrivals.join('/')} ms ` +
        `(default/stale); instance leadership: ${lastLoss > 0 ? `lost, regained after ${instanceGapMs} ms` : 'kept'} ` +
        `(lock delay ${LOCK_DELAY_MS} ms); ${leaderSamples} leader samples, ${twoLeaders} with two leaders; ` +
        `${configSamples} config samples, ${withoutValue} without a value\n`,
    );
    expect(failed.length).toBeGreaterThan(0);
    for (const versions of seen) {
      for (const bad of failed) expect(versions.has(bad)).toBe(false);
      expect(versions.has(written!.version)).toBe(true);
    }
    expect(withoutValue).toBe(0);
    expect(configSamples).toBeGreaterThan(100);
    expect(twoLeaders).toBe(0);
    expect(leaderSamples).toBeGreaterThan(100);
    expect(leaders()).toHaveLength(1);
  }, 120_000);
});

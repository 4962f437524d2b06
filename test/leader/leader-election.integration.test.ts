// Leader election among real processes registered with real checks on the shared dev agent:
// SIGTERM drain of the leader, kill -9 of the leader, the leader's check turning critical. An
// observer samples every 10 ms what each instance last reported (and counts a killed one as not
// leader from the moment it was killed): at no sample may two be leader.
import { startScript } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { waitFor } from '../../harness/wait-for';

const LOCK_DELAY_MS = 2_000;
const CHECK_INTERVAL_MS = 1_000;
const CHECK_TIMEOUT_MS = 500;
const SERVICE = `leader-it-${process.pid}`;

interface Instance {
  readonly service: ChildService;
  readonly id: string;
  readonly port: number;
  leader: boolean;
  dead: boolean;
  gains: number[];
  losses: { at: number; reason: string | undefined }[];
}

describe('leader election among 4 processes', () => {
  const instances: Instance[] = [];
  let samples = 0;
  let doubleLeader = 0;
  let sampler: NodeJS.Timeout | undefined;

  const leaders = (): Instance[] => instances.filter((i) => i.leader && !i.dead);
  const nextLeader = (not: Instance): Promise<Instance> =>
    waitFor(
      'a new leader',
      () => {
        const now = leaders();
        return now.length === 1 && now[0] !== not ? now[0] : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 5 },
    );

  beforeAll(async () => {
    const started = await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const service = startScript('test/leader/fixtures/leader-service.ts', {
          SERVICE_NAME: SERVICE,
          LOCK_DELAY_MS: String(LOCK_DELAY_MS),
          CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
        });
        const listening = await service.next('listening');
        return { service, listening };
      }),
    );
    for (const { service, listening } of started) {
      const instance: Instance = {
        service,
        id: String(listening.id),
        port: Number(listening.port),
        leader: false,
        dead: false,
        gains: [],
        losses: [],
      };
      instances.push(instance);
      void (async () => {
        for (;;) {
          const event = await service.next('leader').catch(() => undefined);
          if (!event) break;
          instance.leader = event.leader === true;
          if (instance.leader) instance.gains.push(Number(event.at));
          else
            instance.losses.push({
              at: Number(event.at),
              reason: event.reason as string | undefined,
            });
        }
        instance.dead = true;
      })();
    }
    sampler = setInterval(() => {
      samples += 1;
      if (leaders().length > 1) doubleLeader += 1;
    }, 10);
  }, 150_000);

  afterAll(async () => {
    clearInterval(sampler);
    for (const instance of instances) if (!instance.dead) instance.service.child.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.service.exited));
    // kill -9 left a critical registration behind on the shared agent.
    for (const instance of instances) {
      await fetch(`${process.env.CONSUL_HTTP_ADDR}/v1/agent/service/deregister/${instance.id}`, {
        method: 'PUT',
      });
    }
  });

  it('elects one leader, hands over on drain, kill -9 and a critical check, never two at once', async () => {
    const first = await waitFor(
      'the first leader',
      () => (leaders().length === 1 ? leaders()[0] : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 5,
      },
    );

    // 1. SIGTERM: the drain resigns before deregistering, so no lock delay applies.
    const drainAt = Date.now();
    first.service.child.kill('SIGTERM');
    const second = await nextLeader(first);
    const drainHandoverMs = second.gains.at(-1)! - drainAt;
    expect(first.losses[0]).toMatchObject({ reason: 'released' });
    await first.service.exited;

    // 2. kill -9: the check fails at its next run, Consul invalidates the session, the lock delay runs.
    const killAt = Date.now();
    second.dead = true;
    second.service.child.kill('SIGKILL');
    const third = await nextLeader(second);
    const killHandoverMs = third.gains.at(-1)! - killAt;

    // 3. The leader's own check turns critical: its signal aborts, then another takes over.
    const sickAt = Date.now();
    await fetch(`http://127.0.0.1:${third.port}/sick`, { method: 'POST' });
    const fourth = await nextLeader(third);
    const sickLossMs = third.losses.at(-1)!.at - sickAt;
    const sickHandoverMs = fourth.gains.at(-1)! - sickAt;

    process.stdout.write(
      `leader handover: drain ${drainHandoverMs} ms; kill -9 ${killHandoverMs} ms; ` +
        `critical check: signal aborted after ${sickLossMs} ms, new leader after ${sickHandoverMs} ms ` +
        `(lock delay ${LOCK_DELAY_MS} ms, check every ${CHECK_INTERVAL_MS} ms); ` +
        `${samples} samples, ${doubleLeader} with two leaders\n`,
    );
    // Below the lock delay itself: a drain that deregistered before resigning would wait it out.
    expect(drainHandoverMs).toBeLessThan(LOCK_DELAY_MS);
    // Invalidation time: the next check run (interval + timeout), then the lock delay.
    const invalidationMs = CHECK_INTERVAL_MS + CHECK_TIMEOUT_MS + LOCK_DELAY_MS;
    expect(killHandoverMs).toBeLessThan(invalidationMs + 1_000);
    expect(third.losses.at(-1)!.reason).toBe('session-invalidated');
    expect(sickLossMs).toBeLessThan(CHECK_INTERVAL_MS + CHECK_TIMEOUT_MS + 1_000);
    // The lock delay is honoured: nobody takes over before it ran out after the loss.
    expect(fourth.gains.at(-1)! - third.losses.at(-1)!.at).toBeGreaterThanOrEqual(
      LOCK_DELAY_MS - 200,
    );
    expect(samples).toBeGreaterThan(100);
    expect(doubleLeader).toBe(0);
  }, 120_000);
});

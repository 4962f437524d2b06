/**
 * Tail latency with one slow instance out of 3: round robin, least-request (power of two choices)
 * and least-request with peak EWMA, each a helper client with only the balancer changed, in
 * alternating rounds of the same closed-loop load. Two slow instances: one that delays 10% of its
 * answers by 50 ms, and one 5x slower than the others (10 ms against 2 ms). Figures: p50, p99,
 * p99.9 of the whole call and the share of requests the slow instance answered, medians over rounds.
 */
import { createDiscovery, type Discovery, type ServiceClientOptions } from '../../src';
import { startTargetFleet, type TargetOptions } from '../request/target-fleet';
import { alternatingRounds } from '../lib/alternating';
import { startLoad } from '../lib/load';
import { median, quantile, round } from '../lib/stats';
import {
  checkAborted,
  deregisterAll,
  registerInstances,
  type Suite,
  type SuiteContext,
} from '../lib/suite';
import { num } from '../lib/table';

const WORKERS = 32;

const SCENARIOS: readonly { id: string; label: string; targets: readonly TargetOptions[] }[] = [
  {
    id: 'slow-10pct-50ms',
    label: '1 of 3 instances delays 10% of its answers by 50 ms',
    targets: [{}, {}, { slowFraction: 0.1, slowMs: 50 }],
  },
  {
    id: 'slow-5x',
    label: '1 of 3 instances 5x slower (10 ms against 2 ms)',
    targets: [{ delayMs: 2 }, { delayMs: 2 }, { delayMs: 10 }],
  },
];

const BALANCERS: readonly { id: string; options: ServiceClientOptions }[] = [
  { id: 'round-robin', options: { balancer: 'round-robin' } },
  { id: 'least-request', options: { balancer: 'least-request' } },
  {
    id: 'peak-ewma',
    options: { balancer: 'least-request', balancerOptions: { peakEwma: { decayMs: 10_000 } } },
  },
];

interface RoundFigures {
  readonly requests: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly slowShare: number;
}

interface BalancerFigures {
  readonly balancer: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly slowShare: number;
  readonly rounds: readonly RoundFigures[];
}

async function measureScenario(
  context: SuiteContext,
  scenario: (typeof SCENARIOS)[number],
  limits: { rounds: number; maxMs: number; maxRequests: number },
): Promise<BalancerFigures[]> {
  const { consul, agent, signal, log } = context;
  const fleet = await startTargetFleet(scenario.targets);
  const service = `bench-tail-${scenario.id}`;
  const slow = fleet.instances[fleet.instances.length - 1]!.id;
  const discoveries: Discovery[] = [];
  let ids: string[] = [];
  try {
    ids = await registerInstances(consul, service, fleet.instances);
    const entrants = await Promise.all(
      BALANCERS.map(async (b) => {
        const discovery = createDiscovery({
          consul: { address: agent.address },
          services: { [service]: b.options },
        });
        discoveries.push(discovery);
        const client = discovery.service(service);
        await client.ready();
        return { id: b.id, client };
      }),
    );
    checkAborted(signal);
    const measured = await alternatingRounds(
      entrants,
      limits.rounds,
      async ({ client }, warmup) => {
        const latencies: number[] = [];
        let slowAnswers = 0;
        const summary = await startLoad(
          async () => {
            const res = await client.request({ path: '/' });
            await res.body.text();
            return res;
          },
          {
            workers: WORKERS,
            maxMs: warmup ? Math.min(1_000, limits.maxMs) : limits.maxMs,
            maxRequests: limits.maxRequests,
            signal,
            onAnswer: (answer) => {
              latencies.push(answer.latencyMs);
              if (answer.instance === slow) slowAnswers += 1;
            },
          },
        ).done;
        return {
          requests: summary.answers,
          errors: summary.errors,
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          p999: quantile(latencies, 0.999),
          slowShare: slowAnswers / Math.max(1, latencies.length),
        };
      },
      signal,
      (r, results) =>
        log(
          `${scenario.id} round ${r + 1}: ${[...results].map(([id, x]) => `${id} p99 ${x.p99.toFixed(1)} ms`).join(', ')}`,
        ),
    );
    return entrants.map(({ id }) => {
      const rounds = measured.get(id)!;
      return {
        balancer: id,
        p50Ms: round(median(rounds.map((x) => x.p50)), 2),
        p99Ms: round(median(rounds.map((x) => x.p99)), 2),
        p999Ms: round(median(rounds.map((x) => x.p999)), 2),
        slowShare: round(median(rounds.map((x) => x.slowShare)), 3),
        rounds: rounds.map((x) => ({
          ...x,
          p50: round(x.p50, 2),
          p99: round(x.p99, 2),
          p999: round(x.p999, 2),
          slowShare: round(x.slowShare, 3),
        })),
      };
    });
  } finally {
    await Promise.allSettled(discoveries.map((d) => d.close()));
    await deregisterAll(consul, ids);
    await fleet.stop();
  }
}

export const tailLatencySuite: Suite = {
  id: 'tail-latency',
  title: 'Tail latency with one slow instance: round robin, least-request, peak EWMA',
  async run(context) {
    const limits = context.quick
      ? { rounds: 1, maxMs: 700, maxRequests: 5_000 }
      : { rounds: 3, maxMs: 3_000, maxRequests: 30_000 };
    const scenarios = [];
    for (const scenario of SCENARIOS) {
      checkAborted(context.signal);
      scenarios.push({ ...scenario, balancers: await measureScenario(context, scenario, limits) });
    }
    return {
      figures: { workers: WORKERS, ...limits, scenarios },
      tables: scenarios.map((s) => ({
        title: `${s.label}; ${WORKERS} concurrent requests, medians of ${limits.rounds} rounds`,
        header: ['balancer', 'p50 ms', 'p99 ms', 'p99.9 ms', 'slow instance share'],
        rows: s.balancers.map((b) => [
          b.balancer,
          num(b.p50Ms, 2),
          num(b.p99Ms, 2),
          num(b.p999Ms, 2),
          `${num(b.slowShare * 100, 1)}%`,
        ]),
      })),
      notes: [
        'A fair share is 33.3%. Outlier detection stays on (its defaults); it reacts to failures, not to slowness.',
      ],
    };
  },
};

/**
 * Micro-benchmark of `pick()` for every built-in balancer at 3, 100 and 10,000 instances, each
 * next to a naive baseline timed in the same run (machines are noisy; the ratio is what to
 * compare between runs). Not a test. `npm run bench` runs it (bench/suites/pick.ts) and writes its
 * figures to bench/results.json; alone: `npx ts-node --transpile-only bench/balancer-bench.ts`.
 */
import {
  ConsistentHashBalancer,
  LeastRequestBalancer,
  RandomBalancer,
  RoundRobinBalancer,
  WeightedBalancer,
  type Balancer,
  type PickContext,
} from '../src/balancer';
import { hashString } from '../src/balancer/hash';
import type { ServiceInstance } from '../src/watch/service-instance';

type Pick = () => ServiceInstance | undefined;

const SIZES = [3, 100, 10_000];
const MAX_PICKS = 1_000_000;
const WARMUP_PICKS = 100_000;

/** Time limits of one measurement, in ns: the measured run and its warm-up. */
export interface PickLimits {
  readonly maxNs: bigint;
  readonly warmupNs: bigint;
}

const STANDALONE: PickLimits = { maxNs: 1_000_000_000n, warmupNs: 200_000_000n };
// The clock is read once per batch so its own cost stays out of the per-pick figure.
const BATCH = 1000;

/** Every pick's port is summed here and printed, so the JIT cannot drop the calls. */
let sink = 0;

function runFor(pick: Pick, maxPicks: number, maxNs: bigint): { picks: number; ns: number } {
  const start = process.hrtime.bigint();
  const deadline = start + maxNs;
  let picks = 0;
  while (picks < maxPicks) {
    for (let i = 0; i < BATCH; i++) sink += pick()?.port ?? 0;
    picks += BATCH;
    if (process.hrtime.bigint() >= deadline) break;
  }
  return { picks, ns: Number(process.hrtime.bigint() - start) };
}

/** ns per call of `pick` after a warm-up, over at most MAX_PICKS calls or maxNs, whichever first. */
function measure(pick: Pick, limits: PickLimits): { nsPerPick: number; picks: number } {
  runFor(pick, WARMUP_PICKS, limits.warmupNs);
  const { picks, ns } = runFor(pick, MAX_PICKS, limits.maxNs);
  return { nsPerPick: ns / picks, picks };
}

function makeInstances(count: number): ServiceInstance[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `node-${i % 7}/api-${i}`,
    serviceId: `api-${i}`,
    service: 'api',
    node: `node-${i % 7}`,
    address: `10.0.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
    tags: [],
    meta: {},
    // One in ten is in warning state at a tenth of the weight, as with Weights {10, 1}.
    status: i % 10 === 9 ? 'warning' : 'passing',
    weight: i % 10 === 9 ? 1 : 10,
  }));
}

interface Case {
  readonly balancer: string;
  readonly baseline: string;
  /** Builds both pick functions for `list`, sharing whatever setup they need. */
  setup(list: ServiceInstance[]): { ours: Pick; naive: Pick };
}

function loaded(balancer: Balancer, list: readonly ServiceInstance[]): Balancer {
  balancer.update(list);
  // Uneven in-flight counts so least-request compares real costs, not ties.
  list.forEach((instance, i) => {
    for (let k = 0; k < i % 5; k++) balancer.onRequestStart?.(instance);
    balancer.onRequestEnd?.(instance, 5 + (i % 13));
  });
  return balancer;
}

/** The naive least-request: scan everything for the lowest in-flight count. */
function scanLeast(list: readonly ServiceInstance[], inflight: Int32Array): Pick {
  return () => {
    let best = 0;
    for (let i = 1; i < list.length; i++) if (inflight[i]! < inflight[best]!) best = i;
    return list[best];
  };
}

const CASES: Case[] = [
  {
    balancer: 'round-robin',
    baseline: 'list[i++ % n]',
    setup(list) {
      const balancer = loaded(RoundRobinBalancer.from(), list);
      let next = 0;
      return { ours: () => balancer.pick(), naive: () => list[next++ % list.length] };
    },
  },
  {
    balancer: 'random',
    baseline: 'list[floor(random*n)]',
    setup(list) {
      const balancer = loaded(RandomBalancer.from(), list);
      return {
        ours: () => balancer.pick(),
        naive: () => list[Math.floor(Math.random() * list.length)],
      };
    },
  },
  {
    balancer: 'random, 1 id excluded',
    baseline: 'filter(!excluded) then random',
    setup(list) {
      const balancer = loaded(RandomBalancer.from(), list);
      const exclude = new Set([list[0]!.id]);
      const context: PickContext = { exclude };
      return {
        ours: () => balancer.pick(context),
        naive: () => {
          const allowed = list.filter((instance) => !exclude.has(instance.id));
          return allowed[Math.floor(Math.random() * allowed.length)];
        },
      };
    },
  },
  {
    balancer: 'weighted (alias)',
    baseline: 'linear cumulative-weight scan',
    setup(list) {
      const balancer = loaded(WeightedBalancer.from(), list);
      const total = list.reduce((sum, instance) => sum + instance.weight, 0);
      return {
        ours: () => balancer.pick(),
        naive: () => {
          let remaining = Math.random() * total;
          for (const instance of list) {
            remaining -= instance.weight;
            if (remaining < 0) return instance;
          }
          return list[list.length - 1];
        },
      };
    },
  },
  {
    balancer: 'least-request (P2C)',
    baseline: 'full scan for min in-flight',
    setup(list) {
      const balancer = loaded(LeastRequestBalancer.from(), list);
      const inflight = Int32Array.from(list, (_, i) => i % 5);
      return { ours: () => balancer.pick(), naive: scanLeast(list, inflight) };
    },
  },
  {
    balancer: 'least-request + peak EWMA',
    baseline: 'full scan for min in-flight',
    setup(list) {
      const balancer = loaded(LeastRequestBalancer.from({ peakEwma: { decayMs: 10_000 } }), list);
      const inflight = Int32Array.from(list, (_, i) => i % 5);
      return { ours: () => balancer.pick(), naive: scanLeast(list, inflight) };
    },
  },
  {
    balancer: 'consistent-hash (key)',
    baseline: 'list[hash(key) % n]',
    setup(list) {
      const balancer = loaded(ConsistentHashBalancer.from(), list);
      // Contexts are built up front so the loop measures pick(), not object creation.
      const contexts: PickContext[] = Array.from({ length: 4096 }, (_, i) => ({
        key: `user-${i * 7919}`,
      }));
      let next = 0;
      let nextNaive = 0;
      return {
        ours: () => balancer.pick(contexts[next++ & 4095]),
        naive: () => list[hashString(contexts[nextNaive++ & 4095]!.key!) % list.length],
      };
    },
  },
];

function format(ns: number): string {
  return ns < 10 ? ns.toFixed(2) : ns < 1000 ? ns.toFixed(1) : ns.toFixed(0);
}

/** One balancer at one size beside its naive baseline, measured in the same run. */
export interface PickRow {
  readonly balancer: string;
  readonly instances: number;
  readonly nsPerPick: number;
  readonly baseline: string;
  readonly baselineNsPerPick: number;
  readonly ratio: number;
}

/** Measures every case at every size; `onRow` sees each row as soon as it is measured. */
export function runPickBench(limits: PickLimits, onRow?: (row: PickRow) => void): PickRow[] {
  const rows: PickRow[] = [];
  for (const benchCase of CASES) {
    for (const size of SIZES) {
      const { ours, naive } = benchCase.setup(makeInstances(size));
      // Alternate the order per size so neither side always runs on a colder or hotter CPU.
      const [a, b] =
        size === 100
          ? [measure(naive, limits), measure(ours, limits)]
          : [measure(ours, limits), measure(naive, limits)];
      const [mine, theirs] = size === 100 ? [b, a] : [a, b];
      const row: PickRow = {
        balancer: benchCase.balancer,
        instances: size,
        nsPerPick: Math.round(mine.nsPerPick * 100) / 100,
        baseline: benchCase.baseline,
        baselineNsPerPick: Math.round(theirs.nsPerPick * 100) / 100,
        ratio: Math.round((mine.nsPerPick / theirs.nsPerPick) * 100) / 100,
      };
      rows.push(row);
      onRow?.(row);
    }
  }
  // Printed so the JIT cannot drop the calls whose ports were summed.
  if (sink === -1) process.stdout.write(String(sink));
  return rows;
}

function main(): void {
  console.log(
    `Node ${process.version}, ${process.platform}/${process.arch}; per case: warm-up, then` +
      ` ${MAX_PICKS.toLocaleString('en-US')} picks or 1 s, whichever first.\n`,
  );
  console.log(
    '| balancer | instances | ours ns/pick | naive baseline | baseline ns/pick | ours / baseline |',
  );
  console.log('|---|--:|--:|---|--:|--:|');
  runPickBench(STANDALONE, (row) =>
    console.log(
      `| ${row.balancer} | ${row.instances.toLocaleString('en-US')} | ${format(row.nsPerPick)} |` +
        ` ${row.baseline} | ${format(row.baselineNsPerPick)} | ${row.ratio.toFixed(2)} |`,
    ),
  );
  console.log(`\n(checksum ${sink})`);
}

if (require.main === module) main();

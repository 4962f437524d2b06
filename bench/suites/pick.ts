/**
 * pick() of every built-in balancer at 3, 100 and 10,000 instances beside a naive baseline timed
 * in the same run (bench/balancer-bench.ts): a CPU micro-benchmark in this process, no network.
 */
import { runPickBench } from '../balancer-bench';
import type { Suite } from '../lib/suite';
import { num } from '../lib/table';

export const pickSuite: Suite = {
  id: 'pick',
  title: 'pick() per balancer',
  run({ quick }) {
    const limits = quick
      ? { maxNs: 20_000_000n, warmupNs: 10_000_000n }
      : { maxNs: 300_000_000n, warmupNs: 100_000_000n };
    const rows = runPickBench(limits);
    return Promise.resolve({
      figures: { maxMsPerMeasurement: Number(limits.maxNs / 1_000_000n), rows },
      tables: [
        {
          title: 'ns per pick() (baseline measured in the same run)',
          header: ['balancer', 'instances', 'ns/pick', 'naive baseline', 'baseline ns', 'ratio'],
          rows: rows.map((r) => [
            r.balancer,
            num(r.instances),
            num(r.nsPerPick, 1),
            r.baseline,
            num(r.baselineNsPerPick, 1),
            r.ratio.toFixed(2),
          ]),
        },
      ],
      notes: [],
    });
  },
};

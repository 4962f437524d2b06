/**
 * Express adapter cost: the same Express app with and without `expressConsul()` (registered in
 * the shared agent, HTTP check every second, request metrics), each in its own process, saturated
 * by 32 concurrent keep-alive requests in alternating rounds; meanwhile a separate connection asks
 * /health one request after another, and its p99 says whether a saturated app still answers
 * Consul's check in time. Figures: req/s, the ratio, /health p50/p99; medians over rounds.
 */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import { closedLoop } from '../request/closed-loop';
import { alternatingRounds } from '../lib/alternating';
import { forkScript, stopProcess } from '../lib/child-process';
import { median, pause, quantile, round } from '../lib/stats';
import { checkAborted, type Suite } from '../lib/suite';
import { num } from '../lib/table';

const SCRIPT = resolve(__dirname, '../targets/express-app.ts');
const WORKERS = 32;

export const expressAdapterSuite: Suite = {
  id: 'express-adapter',
  title: 'Express adapter cost under saturation',
  async run({ quick, agent, signal, log }) {
    const rounds = quick ? 1 : 5;
    const maxMs = quick ? 700 : 2_500;
    const apps: ChildProcess[] = [];
    const pools: Pool[] = [];
    try {
      const entrants = await Promise.all(
        [
          { id: 'plain express', args: [] },
          { id: 'with expressConsul()', args: [`--consul=${agent.address}`] },
        ].map(async (e) => {
          const { child, ready } = forkScript<{ port: number }>(SCRIPT, e.args);
          apps.push(child);
          const { port } = await ready;
          const load = new Pool(`http://127.0.0.1:${port}`, { connections: WORKERS });
          const probe = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
          pools.push(load, probe);
          return { ...e, load, probe };
        }),
      );
      checkAborted(signal);
      const measured = await alternatingRounds(
        entrants,
        rounds,
        async (e, warmup) => {
          let probing = true;
          const health: number[] = [];
          const prober = (async () => {
            while (probing) {
              const sent = performance.now();
              const res = await e.probe.request({ method: 'GET', path: '/health' });
              await res.body.text();
              if (res.statusCode === 200) health.push(performance.now() - sent);
              await pause(5);
            }
          })();
          const result = await closedLoop(
            async () => {
              const res = await e.load.request({ method: 'GET', path: '/' });
              await res.body.text();
              return res.statusCode === 200;
            },
            {
              workers: WORKERS,
              maxRequests: 200_000,
              maxMs: warmup ? Math.min(1_000, maxMs) : maxMs,
              signal,
            },
          );
          probing = false;
          await prober;
          return {
            requestsPerSecond: (result.requests * 1000) / result.ms,
            errors: result.errors,
            healthProbes: health.length,
            healthP50: quantile(health, 0.5),
            healthP99: quantile(health, 0.99),
          };
        },
        signal,
        (r, results) =>
          log(
            `round ${r + 1}: ${[...results].map(([id, x]) => `${id} ${x.requestsPerSecond.toFixed(0)}/s`).join(', ')}`,
          ),
      );
      const summary = entrants.map((e) => {
        const rs = measured.get(e.id)!;
        return {
          app: e.id,
          requestsPerSecond: Math.round(median(rs.map((x) => x.requestsPerSecond))),
          healthP50Ms: round(median(rs.map((x) => x.healthP50)), 2),
          healthP99Ms: round(median(rs.map((x) => x.healthP99)), 2),
          rounds: rs.map((x) => ({
            ...x,
            requestsPerSecond: Math.round(x.requestsPerSecond),
            healthP50: round(x.healthP50, 2),
            healthP99: round(x.healthP99, 2),
          })),
        };
      });
      // Round by round (the two apps ran next to each other in time), then the median.
      const plainRounds = measured.get(entrants[0]!.id)!;
      const ratio = round(
        median(
          measured
            .get(entrants[1]!.id)!
            .map((x, i) => x.requestsPerSecond / plainRounds[i]!.requestsPerSecond),
        ),
        2,
      );
      return {
        figures: {
          workers: WORKERS,
          rounds,
          maxMsPerRound: maxMs,
          ratioWithToWithout: ratio,
          apps: summary,
        },
        tables: [
          {
            title: `${WORKERS} concurrent requests to GET /, /health probed one at a time meanwhile; medians of ${rounds} rounds`,
            header: ['app', 'req/s', 'vs plain', '/health p50 ms', '/health p99 ms'],
            rows: summary.map((s, i) => [
              s.app,
              num(s.requestsPerSecond),
              (i === 0 ? 1 : ratio).toFixed(2),
              num(s.healthP50Ms, 2),
              num(s.healthP99Ms, 2),
            ]),
          },
        ],
        notes: [
          'The load generator shares the 2 cores with the app: req/s is what the app reaches beside it. ' +
            '"vs plain" is the median of per-round ratios (the two apps run next to each other in time).',
        ],
      };
    } finally {
      await Promise.allSettled(pools.map((p) => p.close()));
      await Promise.all(apps.map((app) => stopProcess(app, 5_000)));
    }
  },
};

/**
 * Scale (issue #12): N worker processes on one host, each following the same M services through a
 * Discovery of its own, against one loopback Consul agent with the default per-client limit (200
 * connections for the whole host: every worker, the probe and the bench share 127.0.0.1). Each
 * scenario gets a fresh agent, so the check watch's answer (every check of the datacenter) holds
 * that scenario's services only. Per scenario: when every worker is ready, the most sockets each
 * held, the 429s a probe client (another Consul client on the address, as a CLI) got, how long a
 * change takes to reach every worker for services with a blocking slot and for those without, the
 * requests the workers sent the agent per second while starting and while steady, and CPU.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuUs } from '../lib/process-cpu';
import { pause, quantile, round } from '../lib/stats';
import { checkAborted, type Suite } from '../lib/suite';
import { num } from '../lib/table';
import { connectionBudget, lanePlan } from '../../src/consul/connection-budget';
import { startConsul } from '../../src/testing';
import { createTlsFiles } from '../../src/testing/consul-process';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import {
  ProbeClient,
  registerInstance,
  registerServices,
  sampleMax,
  socketsTo,
  startScaleAgent,
} from '../../harness/scale/scale-support';
import type { RequestCounts, StatusLine } from '../../harness/scale/watch-workers';
import { WatchWorker, type ReadyLine } from '../../harness/scale/watch-workers';

/** Consul's default `limits.http_max_conns_per_client`. */
const AGENT_LIMIT = 200;
/** A worker's budget: the default consul.maxConnections. */
const BUDGET = connectionBudget(32);
/** Targets of issue #12. */
const READY_GOAL_MS = 10_000;
const SLOTTED_P99_GOAL_MS = 100;
const POLLED_P99_GOAL_MS = 2_000;
/**
 * Over TLS (h2) the issue's figure: every service under a blocking query, over at most 4 watch
 * connections; with the short and control lanes' one each, the most a worker may hold.
 */
const H2_PLAN = lanePlan(BUDGET, 'h2');
const H2_SOCKETS =
  H2_PLAN.short.connections +
  H2_PLAN.control.connections +
  H2_PLAN.watch.connections +
  H2_PLAN.poll.connections;

interface Scenario {
  readonly workers: number;
  readonly services: number;
  /** Workers reach the agent over https (HTTP/2), as `test/scale/many-workers-tls.scale.test.ts`. */
  readonly tls?: boolean;
}

const FULL: readonly Scenario[] = [
  { workers: 1, services: 150 },
  { workers: 4, services: 250 },
  { workers: 4, services: 1_000 },
  { workers: 4, services: 1_000, tls: true },
];
const QUICK: readonly Scenario[] = [
  { workers: 1, services: 50 },
  { workers: 2, services: 100 },
  { workers: 1, services: 50, tls: true },
];

/** What one scenario measured; written to results.json as is. */
export interface ScaleFigures {
  readonly workers: number;
  readonly services: number;
  /** Over https with HTTP/2 (absent in results of before it was measured: plain HTTP). */
  readonly tls?: boolean;
  /** Each worker's time from "go" to every service ready, ms, and its services ready (of M). */
  readonly readyMs: readonly number[];
  readonly readyCount: readonly number[];
  /** Each worker's CPU from "go" to ready, ms. */
  readonly startCpuMs: readonly number[];
  /** Each worker's most ESTABLISHED sockets to the agent at any sample (every 100 ms). */
  readonly maxSockets: readonly number[];
  readonly budget: number;
  /** Probe answers by status over the whole scenario (0: connection error). */
  readonly probe: { readonly total: number; readonly refused: number; readonly tooMany: number };
  /** 429s the workers got (ConsulClient.onThrottled), summed. */
  readonly workerThrottled: number;
  /** Slots per worker (services with a blocking query of their own) once steady. */
  readonly slotted: readonly number[];
  /** ms from the registration's PUT to each worker seeing the change, by the watch's mode then. */
  readonly changeMs: { readonly slotted: readonly number[]; readonly polled: readonly number[] };
  /** Requests of all workers to the agent per second: from "go" to the last ready, then steady. */
  readonly requestsPerSecond: {
    readonly start: number;
    readonly steady: number;
    readonly steadyByKind: Omit<RequestCounts, 'throttled'>;
  };
  readonly steadySeconds: number;
  /** Mean CPU use in % of one core while steady: each worker, and the agent. */
  readonly steadyCpuPercent: readonly number[];
  readonly agentCpuPercent: { readonly start: number; readonly steady: number };
}

/** `4 x 1,000`, or `4 x 1,000 TLS (h2)`: a scenario's name in the tables. */
export function scenarioLabel(f: Pick<ScaleFigures, 'workers' | 'services' | 'tls'>): string {
  return `${f.workers} x ${num(f.services)}${f.tls === true ? ' TLS (h2)' : ''}`;
}

function totalRequests(counts: RequestCounts): number {
  return counts.blocking + counts.reads + counts.checkWatch + counts.other;
}

/** Every `step`-th element of `values`, at most `count` of them, spread over the list. */
function spread(values: readonly number[], count: number): number[] {
  if (values.length <= count) return [...values];
  const step = values.length / count;
  return Array.from({ length: count }, (_, i) => values[Math.floor(i * step)]!);
}

async function runScenario(
  scenario: Scenario,
  quick: boolean,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<ScaleFigures> {
  const { workers: n, services: m } = scenario;
  const tls = scenario.tls === true;
  const prefix = `scale${n}x${m}${tls ? 'tls' : ''}`;
  // Steady: 60 s after a 5 s settle: two refresh reads of each service without a slot
  // (pollRefreshMs, 30 s) and one renewal of each slot's blocking query (waitMs, 60 s) fall in it.
  const settleSeconds = quick ? 1 : 5;
  const steadySeconds = quick ? 5 : 60;
  const changes = quick ? { slotted: 3, polled: 4 } : { slotted: 6, polled: 8 };
  const dir = tls ? mkdtempSync(join(tmpdir(), 'express-consul-bench-tls-')) : undefined;
  // Plain HTTP against a server as production runs it (startScaleAgent: no dev-mode pretty JSON);
  // TLS against the dev agent, the one startConsul serves over https. Over TLS the workers and the
  // probe use the https port alone; set-up and changes go over plain HTTP on connections of their own.
  const tlsAgent =
    dir !== undefined
      ? await startConsul({
          mode: 'binary',
          tls: await createTlsFiles(findConsulBinary()!, dir, 'dc1'),
        })
      : undefined;
  const agent = tlsAgent ?? (await startScaleAgent());
  const watchAddress = tlsAgent ? tlsAgent.https!.address : agent.address;
  const watchPort = Number(new URL(watchAddress).port);
  const workers: WatchWorker[] = [];
  let probe: ProbeClient | undefined;
  const samplers: { stop(): number }[] = [];
  try {
    const names = await registerServices(agent.address, prefix, m);
    checkAborted(signal);
    probe = new ProbeClient(watchAddress);
    for (let i = 0; i < n; i++) workers.push(new WatchWorker(watchAddress, prefix, m));
    for (const worker of workers) {
      samplers.push(
        sampleMax(() => {
          try {
            return socketsTo(watchPort, worker.pid);
          } catch {
            return 0; // the worker exited meanwhile
          }
        }, 100),
      );
    }
    // Loading (ts-node compiling the sources in every worker at once) is not measured.
    await Promise.all(workers.map((worker) => worker.next('loaded', 0, 180_000)));
    checkAborted(signal);
    const agentPid = agent.pid!;
    const agentCpuAtGo = processCpuUs(agentPid);
    const goAt = Date.now();
    for (const worker of workers) worker.send('go');
    const ready = await Promise.all(
      workers.map((worker) => worker.next<ReadyLine>('ready', 0, 90_000)),
    );
    const startMs = Math.max(1, Date.now() - goAt);
    const agentCpuStart = processCpuUs(agentPid) - agentCpuAtGo;
    const startRequests = ready.reduce((sum, r) => sum + totalRequests(r.requests), 0);
    log(
      `${n} x ${m}: ready in ${ready.map((r) => r.readyMs).join(', ')} ms, ${startRequests} requests`,
    );
    checkAborted(signal);

    // Steady: nothing changes; slotted services' blocking queries wait, the others are read on
    // their refresh period and the check watch waits.
    for (let s = 0; s < settleSeconds && !signal.aborted; s++) await pause(1_000);
    const before = await Promise.all(workers.map((w) => w.ask<StatusLine>('status', 'status')));
    const cpuBefore = workers.map((w) => processCpuUs(w.pid));
    const agentCpuBefore = processCpuUs(agentPid);
    const steadyFrom = Date.now();
    for (let s = 0; s < steadySeconds && !signal.aborted; s++) await pause(1_000);
    checkAborted(signal);
    const after = await Promise.all(workers.map((w) => w.ask<StatusLine>('status', 'status')));
    const steadyMs = Date.now() - steadyFrom;
    const cpuAfter = workers.map((w) => processCpuUs(w.pid));
    const agentCpuSteady = processCpuUs(agentPid) - agentCpuBefore;
    const kinds = ['blocking', 'reads', 'checkWatch', 'other'] as const;
    const steadyByKind = Object.fromEntries(
      kinds.map((kind) => [
        kind,
        round(
          (after.reduce((sum, a) => sum + a.requests[kind], 0) -
            before.reduce((sum, b) => sum + b.requests[kind], 0)) /
            (steadyMs / 1_000),
          1,
        ),
      ]),
    ) as Omit<RequestCounts, 'throttled'>;

    // Changes: services every worker has slotted now, and services none has.
    const slotLists = await Promise.all(
      workers.map((w) => w.ask<{ slots: number[] }>('slots', 'slots')),
    );
    const slottedSets = slotLists.map((s) => new Set(s.slots));
    const everywhere = [...slottedSets[0]!].filter((i) => slottedSets.every((s) => s.has(i)));
    const nowhere = Array.from({ length: m }, (_, i) => i).filter((i) =>
      slottedSets.every((s) => !s.has(i)),
    );
    const picks = [
      ...spread(
        everywhere.sort((a, b) => a - b),
        changes.slotted,
      ),
      ...spread(nowhere, changes.polled),
    ];
    const changeMs = { slotted: [] as number[], polled: [] as number[] };
    for (const i of picks) {
      checkAborted(signal);
      const name = names[i]!;
      const sentAt = Date.now();
      await registerInstance(agent.address, name, `${name}-extra`, 30_001);
      // Bounded: a change not seen in 10 s fails the run (the goal is 2 s).
      const seen = await Promise.all(workers.map((w) => w.changeSeen(name, 10_000)));
      for (const line of seen)
        (line.slotted ? changeMs.slotted : changeMs.polled).push(line.at - sentAt);
    }
    const last = await Promise.all(workers.map((w) => w.ask<StatusLine>('status', 'status')));
    const maxSockets = samplers.map((sampler) => sampler.stop());
    const statuses = probe.counts();
    return {
      workers: n,
      services: m,
      tls,
      readyMs: ready.map((r) => r.readyMs),
      readyCount: ready.map((r) => r.ready),
      startCpuMs: ready.map((r) => r.cpuMs),
      maxSockets,
      budget: tls ? H2_SOCKETS : BUDGET.total,
      probe: {
        total: probe.total(),
        refused: probe.refused(),
        tooMany: statuses.get(429) ?? 0,
      },
      workerThrottled: last.reduce((sum, s) => sum + s.requests.throttled, 0),
      slotted: after.map((a) => a.status.slotted),
      changeMs,
      requestsPerSecond: {
        start: round(startRequests / (startMs / 1_000), 1),
        steady: round(
          kinds.reduce((sum, kind) => sum + steadyByKind[kind], 0),
          1,
        ),
        steadyByKind,
      },
      steadySeconds: round(steadyMs / 1_000, 1),
      steadyCpuPercent: cpuAfter.map((cpu, i) => round((cpu - cpuBefore[i]!) / (steadyMs * 10), 1)),
      agentCpuPercent: {
        start: round(agentCpuStart / (startMs * 10), 1),
        steady: round(agentCpuSteady / (steadyMs * 10), 1),
      },
    };
  } finally {
    for (const sampler of samplers) sampler.stop();
    await probe?.stop();
    await Promise.all(workers.map((worker) => worker.stop()));
    await agent.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (values: readonly number[], q: number): string =>
  values.length === 0 ? '-' : num(quantile(values, q));
const range = (values: readonly number[]): string => {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? num(low) : `${num(low)}-${num(high)}`;
};

function goals(f: ScaleFigures): string {
  const missed: string[] = [];
  if (Math.max(...f.readyMs) > READY_GOAL_MS || f.readyCount.some((c) => c !== f.services)) {
    missed.push(`ready ${num(Math.max(...f.readyMs))} ms > ${num(READY_GOAL_MS)} ms`);
  }
  if (f.probe.refused > 0) missed.push(`${f.probe.refused} probe reads refused`);
  if (Math.max(...f.maxSockets) > f.budget) missed.push('sockets above the budget');
  // Over h2 every service is to hold a blocking query of its own.
  if (f.tls === true && f.slotted.some((slots) => slots < f.services)) {
    missed.push(`${Math.min(...f.slotted)} of ${num(f.services)} slotted`);
  }
  const slotted = quantile(f.changeMs.slotted, 0.99);
  if (slotted > SLOTTED_P99_GOAL_MS) missed.push(`slotted p99 ${num(slotted)} ms`);
  const polled = quantile(f.changeMs.polled, 0.99);
  if (polled > POLLED_P99_GOAL_MS) missed.push(`polled p99 ${num(polled)} ms`);
  return missed.length === 0 ? 'met' : `MISSED (${missed.join('; ')})`;
}

export const scaleSuite: Suite = {
  id: 'scale',
  title: 'Scale: N workers x M upstreams on one agent (default limit 200)',
  async run({ quick, signal, log }) {
    const figures: ScaleFigures[] = [];
    for (const scenario of quick ? QUICK : FULL) {
      checkAborted(signal);
      figures.push(await runScenario(scenario, quick, signal, log));
    }
    const label = scenarioLabel;
    // The steady figures of the note: the largest plain-HTTP scenario.
    const biggest = [...figures].reverse().find((f) => f.tls !== true) ?? figures[0]!;
    const perWorkerSteady = biggest.requestsPerSecond.steady / biggest.workers;
    return {
      figures: { agentLimit: AGENT_LIMIT, budget: BUDGET, scenarios: figures },
      tables: [
        {
          title: `Readiness and limits (workers x services; budget ${BUDGET.total} connections per worker, of which over h2 at most ${H2_SOCKETS} are opened)`,
          header: [
            'workers x services',
            'ready (ms, per worker)',
            'start CPU per worker (ms)',
            'max sockets per worker',
            'probe 429s / reads',
            'workers 429s',
            'slots per worker',
            'goals',
          ],
          rows: figures.map((f) => [
            label(f),
            range(f.readyMs),
            range(f.startCpuMs),
            range(f.maxSockets),
            `${num(f.probe.tooMany)} / ${num(f.probe.total)}`,
            num(f.workerThrottled),
            range(f.slotted),
            goals(f),
          ]),
        },
        {
          title:
            'A change (one instance registered) until every worker has it, from the PUT; and what the workers cost the agent',
          header: [
            'workers x services',
            'slotted p50 / p99 (ms, n)',
            'polled p50 / p99 (ms, n)',
            'agent req/s starting',
            'agent req/s steady',
            'steady CPU per worker',
            'agent CPU starting / steady',
          ],
          rows: figures.map((f) => [
            label(f),
            `${ms(f.changeMs.slotted, 0.5)} / ${ms(f.changeMs.slotted, 0.99)} (${f.changeMs.slotted.length})`,
            `${ms(f.changeMs.polled, 0.5)} / ${ms(f.changeMs.polled, 0.99)} (${f.changeMs.polled.length})`,
            num(f.requestsPerSecond.start),
            num(f.requestsPerSecond.steady, 1),
            `${range(f.steadyCpuPercent.map((c) => Math.round(c)))} %`,
            `${num(f.agentCpuPercent.start)} % / ${num(f.agentCpuPercent.steady)} %`,
          ]),
        },
      ],
      notes: [
        `Goals (issue #12): every service ready in <= ${READY_GOAL_MS / 1000} s, 0 x 429 to another client on the address (the probe reads /v1/agent/self every 50 ms on a fresh connection), sockets per worker <= its budget, a change seen p99 <= ${SLOTTED_P99_GOAL_MS} ms with a slot and <= ${POLLED_P99_GOAL_MS / 1000} s without.`,
        `Steady (${biggest.steadySeconds} s without changes${biggest.steadySeconds >= 60 ? ': two refresh periods, one blocking-query wait' : ', shorter than a refresh period'}), ${label(biggest)}: ${num(biggest.requestsPerSecond.steady, 1)} requests/s to the agent in all, ${num(perWorkerSteady, 1)} per worker: ${num(biggest.requestsPerSecond.steadyByKind.reads, 1)}/s refresh reads of services without a slot (M - slots per worker every pollRefreshMs, 30 s), ${num(biggest.requestsPerSecond.steadyByKind.blocking, 1)}/s blocking queries (slots renewed once per waitMs, 60 s), ${num(biggest.requestsPerSecond.steadyByKind.checkWatch, 1)}/s check-watch queries; each worker held at most ${Math.max(...biggest.maxSockets)} connections (budget ${BUDGET.total}: the short and control lanes stay idle here).`,
        'Which services hold a slot is asked of each worker (first come, first slotted while nobody calls them); a change is counted as slotted or polled by what the worker that saw it reports. Requests are counted in each worker (undici diagnostics channel), 429s by ConsulClient.onThrottled; CPU from /proc/PID/stat (10 ms ticks).',
        `TLS (h2): the workers reach the agent over https and HTTP/2; every service holds a blocking query of its own as a stream (${H2_PLAN.watch.connections + H2_PLAN.poll.connections} watch connections, ${H2_SOCKETS} in all at most, the check watch unused), so every change is a slotted one. Goal: all M slotted in every worker and sockets <= ${H2_SOCKETS}, beside the goals above.`,
        'Ready time and start CPU count from "go", sent once every worker has loaded (ts-node compiles the sources first: seconds of CPU each). Workers, probe and agent share the cores: on a loaded host readiness and polled changes are pessimistic.',
      ],
    };
  },
};

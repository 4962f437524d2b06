/**
 * Cost of a whole outbound call through express-consul beside three other ways of calling the same
 * service, measured side by side in one run. Not a test. Run: `npm run bench:request`, then
 * `npm run bench:readme` to put the figures in the README.
 *
 * Three plain `node:http` targets run in their own processes (bench/targets/http-target.ts), so the
 * client's CPU is measured alone; they are registered as `bench-target` in a real Consul dev agent.
 * Each round is a closed loop of WORKERS concurrent requests, bounded in count and time; the
 * clients alternate, in an order rotated every round, after one discarded warm-up round each.
 * Figures are medians over rounds. `BENCH_ROUNDS` and `BENCH_MAX_MS` shorten a trial run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { resolve } from 'node:path';
import { ConsulClient } from '../src';
import { ConsulAgent } from '../tools/consul-agent';
import {
  fetchClient,
  helperClient,
  naiveClient,
  poolClient,
  type BenchClient,
} from './request/clients';
import { closedLoop, type RoundLimits, type RoundResult } from './request/closed-loop';
import {
  median,
  RESULTS_FILE,
  type ClientResult,
  type RequestBenchResults,
} from './request/results';
import { startTargetFleet, type TargetFleet } from './request/target-fleet';

const SERVICE = 'bench-target';
const TARGETS = 3;
const WORKERS = 32;
const MAX_REQUESTS = 20_000;
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = { maxRequests: 5_000, maxMs: Math.min(2_000, MAX_MS) };
/** Clients are built in this order; the first is the baseline the ratios divide by. */
const BASELINE = 'undici-pool';

const interrupted = new AbortController();
function onSignal(): void {
  // A second Ctrl-C does not wait for the cleanup; children leave with their IPC channel, the
  // agent with tools/consul-agent's exit hook.
  if (interrupted.signal.aborted) process.exit(130);
  process.stderr.write('\nInterrupted: stopping clients, targets and the Consul agent...\n');
  interrupted.abort();
}

function checkInterrupted(): void {
  if (interrupted.signal.aborted) throw new Error('interrupted');
}

async function main(): Promise<void> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const loadBefore = loadavg()[0]!;
  let agent: ConsulAgent | undefined;
  let fleet: TargetFleet | undefined;
  let consul: ConsulClient | undefined;
  const clients: BenchClient[] = [];
  try {
    agent = await ConsulAgent.start();
    checkInterrupted();
    fleet = await startTargetFleet(TARGETS);
    checkInterrupted();
    consul = new ConsulClient({ address: agent.address });
    for (const [i, port] of fleet.ports.entries()) {
      await consul.registerService({
        Name: SERVICE,
        ID: `${SERVICE}-${i}`,
        Address: '127.0.0.1',
        Port: port,
      });
    }
    const consulVersion = await agentVersion(agent.address);
    const urls = fleet.ports.map((port) => `http://127.0.0.1:${port}`);

    const helper = helperClient(agent.address, SERVICE);
    clients.push(poolClient(urls), helper, fetchClient(urls), naiveClient(agent.address, SERVICE));
    await helper.ready();
    checkInterrupted();

    const machine = {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      consul: consulVersion,
      platform: `${platform()} ${release()}`,
    };
    process.stdout.write(
      `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Consul ${machine.consul}; ` +
        `load average ${loadBefore.toFixed(2)}\n` +
        `${TARGETS} targets in their own processes; ${WORKERS} workers per round, ` +
        `${MAX_REQUESTS} requests or ${MAX_MS} ms; 1 warm-up + ${ROUNDS} rounds per client, ` +
        `order rotated.\n\n`,
    );

    const limits = (bounds: { maxRequests: number; maxMs: number }): RoundLimits => ({
      workers: WORKERS,
      signal: interrupted.signal,
      ...bounds,
    });
    for (const client of clients) {
      collectGarbage();
      await closedLoop(() => client.call(), limits(WARMUP));
      checkInterrupted();
    }
    const rounds = new Map<string, RoundResult[]>(clients.map((c) => [c.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
      const line: string[] = [];
      for (const client of order) {
        collectGarbage();
        const result = await closedLoop(
          () => client.call(),
          limits({ maxRequests: MAX_REQUESTS, maxMs: MAX_MS }),
        );
        checkInterrupted();
        rounds.get(client.id)!.push(result);
        line.push(`${client.id} ${rate(result).toFixed(0)}/s`);
      }
      process.stdout.write(`round ${round + 1}: ${line.join(', ')}\n`);
    }

    const results = summarise(clients, rounds);
    printTable(results);
    const output: RequestBenchResults = {
      date: new Date().toISOString(),
      machine: { ...machine, loadAverage: { before: loadBefore, after: loadavg()[0]! } },
      setup: {
        targets: TARGETS,
        workers: WORKERS,
        maxRequestsPerRound: MAX_REQUESTS,
        maxMsPerRound: MAX_MS,
        rounds: ROUNDS,
        warmupRounds: 1,
      },
      clients: results,
    };
    writeFileSync(resolve(__dirname, '..', RESULTS_FILE), `${JSON.stringify(output, null, 2)}\n`);
    process.stdout.write(
      `\nWrote ${RESULTS_FILE}; \`npm run bench:readme\` puts it in the README.\n`,
    );
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    if (consul) {
      for (const i of fleet?.ports.keys() ?? []) {
        await consul.deregisterService(`${SERVICE}-${i}`).catch(() => undefined);
      }
      await consul.close();
    }
    await fleet?.stop();
    await agent?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function rate(result: RoundResult): number {
  return (result.requests * 1000) / result.ms;
}

function cpuPerRequest(result: RoundResult): number {
  return result.cpuUs / Math.max(1, result.requests);
}

/** Garbage left by one client is collected before the next one's round, not during it. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function agentVersion(address: string): Promise<string> {
  const response = await fetch(`${address}/v1/agent/self`);
  const self = (await response.json()) as { Config?: { Version?: string } };
  return self.Config?.Version ?? 'unknown';
}

function summarise(
  clients: readonly BenchClient[],
  rounds: ReadonlyMap<string, RoundResult[]>,
): ClientResult[] {
  const medians = new Map(
    clients.map((client) => {
      const results = rounds.get(client.id)!;
      return [
        client.id,
        { rps: median(results.map(rate)), cpu: median(results.map(cpuPerRequest)) },
      ];
    }),
  );
  const baseline = medians.get(BASELINE)!;
  return clients.map((client) => {
    const { rps, cpu } = medians.get(client.id)!;
    return {
      id: client.id,
      label: client.label,
      requestsPerSecond: Math.round(rps),
      cpuUsPerRequest: Math.round(cpu * 10) / 10,
      requestsPerSecondVsPool: Math.round((rps / baseline.rps) * 100) / 100,
      cpuVsPool: Math.round((cpu / baseline.cpu) * 100) / 100,
      rounds: rounds.get(client.id)!.map((r) => ({
        ...r,
        ms: Math.round(r.ms),
        requestsPerSecond: Math.round(rate(r)),
        cpuUsPerRequest: Math.round(cpuPerRequest(r) * 10) / 10,
      })),
    };
  });
}

function printTable(results: readonly ClientResult[]): void {
  const rows = results.map((r) => [
    r.id,
    String(r.requestsPerSecond),
    r.requestsPerSecondVsPool.toFixed(2),
    r.cpuUsPerRequest.toFixed(1),
    r.cpuVsPool.toFixed(2),
    String(r.rounds.reduce((sum, round) => sum + round.errors, 0)),
  ]);
  const header = ['client', 'req/s', 'vs Pool', 'CPU µs/req', 'vs Pool', 'errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  process.stdout.write(`\n${format(header)}\n${rows.map(format).join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = interrupted.signal.aborted ? 130 : 1;
});

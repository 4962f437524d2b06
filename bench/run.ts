/**
 * `npm run bench`: every benchmark of the project side by side in one run, bounded (about 15
 * minutes on 2 cores), printing one table per benchmark and writing bench/results.json (machine,
 * versions, date, load averages, every figure). Not a test.
 *
 *   npm run bench                      all benchmarks
 *   npm run bench -- --quick           a small version for CI: figures exist, values mean little
 *   npm run bench -- --only=throughput one or more ids, comma-separated; merged into results.json
 *
 * One Consul dev agent is shared; targets, HAProxy and Express apps run in their own processes;
 * everything started is stopped, also on Ctrl-C. `npm run bench:readme` renders the figures of
 * docs/performance.md from results.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { ConsulClient } from '../src/consul/consul-client';
import { startConsul } from '../src/testing';
import type { StartedConsul } from '../src/testing';
import { describeMachine, loadAverage } from './lib/machine';
import { haproxyVersion } from './lib/haproxy';
import { RESULTS_FILE, type BenchResults, type SuiteResult } from './lib/results';
import type { Suite } from './lib/suite';
import { formatTable } from './lib/table';
import { consulLoadSuite } from './suites/consul-load';
import { expressAdapterSuite } from './suites/express-adapter';
import { largeAnswersSuite } from './suites/large-answers';
import { memorySuite } from './suites/memory';
import { pickSuite } from './suites/pick';
import { propagationSuite } from './suites/propagation';
import { scaleSuite } from './suites/scale';
import { tailLatencySuite } from './suites/tail-latency';
import { throughputSuite } from './suites/throughput';

const SUITES: readonly Suite[] = [
  throughputSuite,
  propagationSuite,
  largeAnswersSuite,
  tailLatencySuite,
  consulLoadSuite,
  memorySuite,
  expressAdapterSuite,
  pickSuite,
  scaleSuite,
];

const interrupted = new AbortController();
function onSignal(): void {
  // A second Ctrl-C does not wait for the clean-up; children leave with their IPC channel or
  // the exit hooks of express-consul/testing (agents) and lib/haproxy.
  if (interrupted.signal.aborted) process.exit(130);
  process.stderr.write('\nInterrupted: stopping clients, targets and the Consul agent...\n');
  interrupted.abort();
}

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<string> | undefined } {
  let quick = false;
  let only: Set<string> | undefined;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) only = new Set(arg.slice(7).split(','));
    else throw new Error(`unknown argument ${arg} (known: --quick, --only=id,id)`);
  }
  for (const id of only ?? []) {
    if (!SUITES.some((suite) => suite.id === id)) {
      throw new Error(`unknown benchmark ${id} (known: ${SUITES.map((s) => s.id).join(', ')})`);
    }
  }
  return { quick, only };
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const file = resolve(__dirname, '..', RESULTS_FILE);
  const haproxy = haproxyVersion();
  const command = [
    'npm run bench',
    ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
  ].join(' ');
  let agent: StartedConsul | undefined;
  let consul: ConsulClient | undefined;
  const produced: Record<string, SuiteResult> = {};
  try {
    agent = await startConsul({ mode: 'binary' });
    consul = new ConsulClient({ address: agent.address });
    const machine = await describeMachine(agent.address, haproxy);
    process.stdout.write(
      `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Consul ${machine.consul}, ` +
        `HAProxy ${machine.haproxy}; load average ${loadAverage().join(' ')}` +
        `${quick ? '; --quick' : ''}\n` +
        'The machine may be shared: read ratios measured in the same run, not absolute figures.\n',
    );
    for (const suite of SUITES) {
      if (only && !only.has(suite.id)) continue;
      if (interrupted.signal.aborted) break;
      const before = loadAverage();
      const started = Date.now();
      process.stdout.write(`\n== ${suite.title} (load average ${before.join(' ')})\n`);
      const output = await suite.run({
        quick,
        agent,
        consul,
        haproxy,
        signal: interrupted.signal,
        log: (line) => process.stderr.write(`  [${suite.id}] ${line}\n`),
      });
      const after = loadAverage();
      for (const table of output.tables) process.stdout.write(`\n${formatTable(table)}\n`);
      for (const note of output.notes) process.stdout.write(`- ${note}\n`);
      process.stdout.write(
        `(${((Date.now() - started) / 1000).toFixed(0)} s, load average after ${after.join(' ')})\n`,
      );
      produced[suite.id] = {
        title: suite.title,
        command,
        date: new Date().toISOString(),
        loadAverage: { before, after },
        durationMs: Date.now() - started,
        quick,
        tables: output.tables,
        notes: output.notes,
        figures: output.figures,
      };
    }
    if (interrupted.signal.aborted) throw new Error('interrupted');
    // --only replaces its benchmarks' parts and keeps the others from the last run.
    const previous =
      only && existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResults)
        : undefined;
    const results: BenchResults = {
      date: new Date().toISOString(),
      command,
      machine,
      suites: { ...previous?.suites, ...produced },
    };
    // Formatted like the rest of the repository, so `prettier --check .` stays green.
    const options = (await resolveConfig(file)) ?? {};
    writeFileSync(file, await format(JSON.stringify(results), { ...options, filepath: file }));
    process.stdout.write(
      `\nWrote ${RESULTS_FILE}; \`npm run bench:readme\` puts it in docs/performance.md.\n`,
    );
  } finally {
    await consul?.close();
    await agent?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = interrupted.signal.aborted ? 130 : 1;
});

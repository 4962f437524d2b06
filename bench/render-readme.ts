/**
 * Rewrites the README's request-benchmark table, between `<!-- request-bench:start -->` and
 * `<!-- request-bench:end -->`, from bench/request-results.json, so the figures in the README are
 * always the last measured ones and never typed by hand. Run: `npm run bench:readme`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { RESULTS_FILE, type RequestBenchResults } from './request/results';

const README = resolve(__dirname, '../README.md');
const START = '<!-- request-bench:start -->';
const END = '<!-- request-bench:end -->';

function render(results: RequestBenchResults): string {
  const { machine, setup } = results;
  const number = (n: number): string => Math.round(n).toLocaleString('en-US');
  const rows = results.clients.map((client) => {
    const rates = client.rounds.map((round) => round.requestsPerSecond);
    const errors = client.rounds.reduce((sum, round) => sum + round.errors, 0);
    return [
      client.label,
      number(client.requestsPerSecond),
      `${client.requestsPerSecondVsPool.toFixed(2)}×`,
      client.cpuUsPerRequest.toFixed(1),
      `${client.cpuVsPool.toFixed(2)}×`,
      `${number(Math.min(...rates))}–${number(Math.max(...rates))}`,
      String(errors),
    ];
  });
  const summary =
    `Last run ${results.date.slice(0, 10)}: ${machine.cpu}, ${machine.cores} cores, Node ` +
    `${machine.node}, Consul ${machine.consul}; 1-minute load average ${machine.loadAverage.before.toFixed(1)} ` +
    `before and ${machine.loadAverage.after.toFixed(1)} after the run. ${setup.targets} targets, ` +
    `${setup.workers} workers, at most ${number(setup.maxRequestsPerRound)} requests or ` +
    `${setup.maxMsPerRound / 1000} s per round, ${setup.warmupRounds} warm-up + ${setup.rounds} rounds ` +
    'per client; medians over rounds.';
  return [
    ...wrap(summary, 100),
    '',
    '| client | requests/s | vs Pool | client CPU µs/request | vs Pool | requests/s per round | errors |',
    '| --- | --: | --: | --: | --: | --: | --: |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}

/** Lines of at most `width` characters, broken at spaces, like the README's hand-written prose. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/**
 * Replaces what lies between the README's `start` and `end` markers by `content`, formatted like
 * the rest of the repository so that `prettier --check .` stays green.
 */
export async function replaceReadmeSection(
  start: string,
  end: string,
  content: string,
): Promise<void> {
  const readme = readFileSync(README, 'utf8');
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} section`);
  const updated = `${readme.slice(0, from + start.length)}\n\n${content}\n\n${readme.slice(to)}`;
  const options = (await resolveConfig(README)) ?? {};
  writeFileSync(README, await format(updated, { ...options, filepath: README }));
}

async function main(): Promise<void> {
  const results = JSON.parse(
    readFileSync(resolve(__dirname, '..', RESULTS_FILE), 'utf8'),
  ) as RequestBenchResults;
  await replaceReadmeSection(START, END, render(results));
  process.stdout.write(`README.md: request-benchmark table updated from ${RESULTS_FILE}\n`);
}

// Imported by bench/render-chaos.ts for its helpers: only run as a script.
if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `bench:readme failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}

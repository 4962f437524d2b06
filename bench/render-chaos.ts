/**
 * Rewrites the Reliability table of docs/reliability.md, between `<!-- chaos:start -->` and
 * `<!-- chaos:end -->`, from bench/chaos-results.json (written by the chaos scenarios,
 * `npm run test:chaos`), so the published figures are always the last measured ones. Run:
 * `npm run chaos:readme` (named from when the table lived in the README).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChaosResults } from '../harness/chaos-results';
import { replaceMarkedSection, wrap } from './render-readme';

const RESULTS = resolve(__dirname, 'chaos-results.json');
/** The page the chaos figures are rendered into. */
const RELIABILITY_PAGE = resolve(__dirname, '../docs/reliability.md');
const START = '<!-- chaos:start -->';
const END = '<!-- chaos:end -->';

function render(results: ChaosResults): string {
  const number = (n: number): string => n.toLocaleString('en-US');
  const machines = [...new Set(results.rows.map((row) => row.machine.replace(/, load .*$/, '')))];
  const dates = results.rows.map((row) => row.date.slice(0, 10)).sort();
  const when = dates[0] === dates.at(-1) ? `on ${dates[0]}` : `from ${dates[0]} to ${dates.at(-1)}`;
  const summary =
    `Measured by \`npm run test:chaos\` ${when} on ${machines.join('; ')}. ` +
    'Each scenario runs steady bounded load through the library and, in the same run, through a ' +
    'naive control (a Consul lookup reused for up to 1 s, one random instance, no retry, no ejection); ' +
    '"retried" and "ejected" come from the library\'s own metrics, p99 is the call latency, retries ' +
    'included.';
  return [
    ...wrap(summary, 100),
    '',
    '| scenario | sent | ok | failed | retried | ejected | control failed | p99 ms |',
    '| --- | --: | --: | --: | --: | --: | --: | --: |',
    ...results.rows.map(
      (row) =>
        `| ${row.scenario} | ${number(row.sent)} | ${number(row.ok)} | ${number(row.failed)} | ` +
        `${number(row.retried)} | ${number(row.ejected)} | ` +
        `${row.controlFailed === null ? '–' : number(row.controlFailed)} | ${row.p99Ms.toFixed(1)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const results = JSON.parse(readFileSync(RESULTS, 'utf8')) as ChaosResults;
  await replaceMarkedSection(RELIABILITY_PAGE, START, END, render(results));
  process.stdout.write(
    `docs/reliability.md: Reliability table updated from bench/chaos-results.json\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `chaos:readme failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});

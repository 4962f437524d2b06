/**
 * Rewrites the Performance figures of docs/performance.md, between `<!-- perf:start -->` and
 * `<!-- perf:end -->`, from bench/results.json, so the published figures are always the last
 * measured ones and never typed by hand: one table per benchmark, its load average, and its notes
 * (goals met or missed, and why). The scale benchmark goes to the page's Scale section instead
 * (between `<!-- scale:start -->` and `<!-- scale:end -->`), with its cost per worker after the
 * "Workers per host" paragraphs (`<!-- scale-cost:... -->`). Run: `npm run bench:readme` after
 * `npm run bench` (the script keeps its name from when these figures lived in the README).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { RESULTS_FILE, type BenchResults, type SuiteResult } from './lib/results';
import { num, type Table } from './lib/table';
import { scenarioLabel } from './suites/scale';
import type { ScaleFigures } from './suites/scale';

/** The page the benchmark figures are rendered into. */
const PERFORMANCE_PAGE = resolve(__dirname, '../docs/performance.md');
const START = '<!-- perf:start -->';
const END = '<!-- perf:end -->';
/** Suites rendered in a section of their own, not in Performance. */
const OWN_SECTION = new Set(['scale']);
/** The order of the page, which is the order of `npm run bench`. */
const ORDER = [
  'throughput',
  'propagation',
  'large-answers',
  'tail-latency',
  'consul-load',
  'memory',
  'express-adapter',
  'pick',
];

function markdownTable(table: Table): string[] {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  return [
    `${table.title}:`,
    '',
    `| ${table.header.map(escape).join(' | ')} |`,
    `| ${table.header.map((_, i) => (i === 0 ? '---' : '--:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
}

function renderSuite(suite: SuiteResult, heading = true): string[] {
  const load = (l: readonly number[]): string => l.map((n) => n.toFixed(1)).join(', ');
  return [
    ...(heading ? [`### ${suite.title}`, ''] : []),
    ...wrap(
      `Measured by \`${suite.command}\` ${suite.date.slice(0, 16).replace('T', ' ')} UTC in ` +
        `${Math.round(suite.durationMs / 1000)} s` +
        `${suite.quick ? ' (--quick: small samples, for CI)' : ''}; load average (1, 5, 15 min) ` +
        `${load(suite.loadAverage.before)} before, ${load(suite.loadAverage.after)} after.`,
      100,
    ),
    '',
    ...suite.tables.flatMap((table) => [...markdownTable(table), '']),
    ...suite.notes.map((note) => `- ${note}`),
    '',
  ];
}

function render(results: BenchResults): string {
  const { machine } = results;
  const intro =
    `Measured with \`npm run bench\` on ${machine.cpu}, ` +
    `${machine.cores} cores (${machine.platform}), Node ${machine.node}, Consul ${machine.consul}, ` +
    `HAProxy ${machine.haproxy}. The machine was shared with other work while it ran (see each load ` +
    'average): absolute figures move with that load; compare the rows of one table, measured side ' +
    'by side in the same run.';
  const ids = [
    ...ORDER,
    ...Object.keys(results.suites).filter((id) => !ORDER.includes(id) && !OWN_SECTION.has(id)),
  ];
  return [
    ...wrap(intro, 100),
    '',
    ...ids.flatMap((id) => {
      const suite = results.suites[id];
      return suite ? renderSuite(suite) : [];
    }),
  ]
    .join('\n')
    .trimEnd();
}

/** Lines of at most `width` characters, broken at spaces, like the docs' hand-written prose. */
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
 * Replaces what lies between the `start` and `end` markers of the Markdown file `path` by
 * `content`, formatted like the rest of the repository so that `prettier --check .` stays green.
 */
export async function replaceMarkedSection(
  path: string,
  start: string,
  end: string,
  content: string,
): Promise<void> {
  const page = readFileSync(path, 'utf8');
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${path} has no ${start} ... ${end} section`);
  const updated = `${page.slice(0, from + start.length)}\n\n${content}\n\n${page.slice(to)}`;
  const options = (await resolveConfig(path)) ?? {};
  writeFileSync(path, await format(updated, { ...options, filepath: path }));
}

/**
 * What N workers x M upstreams cost the agent, in the measured figures: a table (connections held,
 * requests per second steady and starting, the agent's CPU) and the rule they follow.
 */
export function renderScaleCost(suite: SuiteResult): string {
  const { scenarios } = suite.figures as { scenarios: readonly ScaleFigures[] };
  const load = suite.loadAverage.before.map((n) => n.toFixed(1)).join(', ');
  const table = markdownTable({
    title:
      `What N workers x M upstreams cost the agent (\`${suite.command}\`, ` +
      `${suite.date.slice(0, 10)}${suite.quick ? ', --quick' : ''}, load average ${load}; details below)`,
    header: [
      'workers x upstreams',
      'connections (per worker / all)',
      'requests/s steady (all / per worker)',
      'of which refresh reads/s',
      'requests/s starting',
      'agent CPU steady / starting',
    ],
    rows: scenarios.map((f) => {
      const sockets = Math.max(...f.maxSockets);
      return [
        scenarioLabel(f),
        `${sockets} / ${num(f.workers * sockets)}`,
        `${num(f.requestsPerSecond.steady, 1)} / ${num(f.requestsPerSecond.steady / f.workers, 1)}`,
        num(f.requestsPerSecond.steadyByKind.reads, 1),
        num(f.requestsPerSecond.start),
        `${num(f.agentCpuPercent.steady)} % / ${num(f.agentCpuPercent.start)} %`,
      ];
    }),
  });
  return [
    ...table,
    '',
    ...wrap(
      'Per worker, steady: (M - slots) / 30 refresh reads per second (pollRefreshMs), slots / 60 ' +
        'renewed blocking queries (waitMs), one check watch, and per change one read of each changed ' +
        'service without a slot; its connections stay within maxConnections whatever M is, so N x ' +
        'maxConnections is what the host holds at most.',
      100,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const results = JSON.parse(
    readFileSync(resolve(__dirname, '..', RESULTS_FILE), 'utf8'),
  ) as BenchResults;
  await replaceMarkedSection(PERFORMANCE_PAGE, START, END, render(results));
  process.stdout.write(`docs/performance.md: Performance figures updated from ${RESULTS_FILE}\n`);
  const scale = results.suites.scale;
  if (scale) {
    await replaceMarkedSection(
      PERFORMANCE_PAGE,
      '<!-- scale:start -->',
      '<!-- scale:end -->',
      renderSuite(scale, false).join('\n').trimEnd(),
    );
    await replaceMarkedSection(
      PERFORMANCE_PAGE,
      '<!-- scale-cost:start -->',
      '<!-- scale-cost:end -->',
      renderScaleCost(scale),
    );
    process.stdout.write(`docs/performance.md: Scale section updated from ${RESULTS_FILE}\n`);
  }
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

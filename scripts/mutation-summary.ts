/**
 * Prints the mutation score of each mutated file and of each group (the balancer; the retry, budget
 * and outlier rules) from Stryker's JSON report, as a Markdown table the README can quote.
 * `--json FILE` also writes the figures as JSON (docs/mutation-summary.json is the committed copy);
 * `--survivors` lists every surviving or uncovered mutant, to see what the tests miss.
 * Run: `npm run mutation:summary` after `npm run test:mutation`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Each group's run writes its own report (stryker/*.config.mjs). */
const REPORTS = ['balancer', 'retry'].map((group) =>
  resolve(__dirname, `../reports/mutation/${group}/mutation.json`),
);

/** The groups the score goal of issue #14 is set on, by file prefix. */
const GROUPS: readonly { readonly name: string; readonly files: readonly string[] }[] = [
  { name: 'src/balancer/', files: ['src/balancer/'] },
  {
    name: 'retry/budget/outlier',
    files: [
      'src/client/retry-policy.ts',
      'src/client/retry-decision.ts',
      'src/client/retry-budget.ts',
      'src/client/outlier-detector.ts',
    ],
  },
];

/** The part of mutation-testing-report-schema this script reads. */
interface Report {
  readonly files: Record<string, { readonly mutants: readonly Mutant[] }>;
}

interface Mutant {
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}

/** Mutant counts as Stryker scores them. */
interface Counts {
  killed: number;
  survived: number;
  timeout: number;
  noCoverage: number;
  /** Not scored: compile and runtime errors, ignored (Stryker disable) mutants. */
  other: number;
}

interface Row extends Counts {
  readonly file: string;
  /** Detected / valid, in %: (killed + timeout) / (killed + timeout + survived + no coverage). */
  readonly score: number;
}

function count(mutants: readonly Mutant[]): Counts {
  const counts: Counts = { killed: 0, survived: 0, timeout: 0, noCoverage: 0, other: 0 };
  for (const { status } of mutants) {
    if (status === 'Killed') counts.killed++;
    else if (status === 'Survived') counts.survived++;
    else if (status === 'Timeout') counts.timeout++;
    else if (status === 'NoCoverage') counts.noCoverage++;
    else counts.other++;
  }
  return counts;
}

function row(file: string, counts: Counts): Row {
  const detected = counts.killed + counts.timeout;
  const valid = detected + counts.survived + counts.noCoverage;
  // A file without a scorable mutant (types only) counts as fully covered, as Stryker shows it.
  return { file, ...counts, score: valid === 0 ? 100 : (100 * detected) / valid };
}

function add(total: Counts, counts: Counts): void {
  total.killed += counts.killed;
  total.survived += counts.survived;
  total.timeout += counts.timeout;
  total.noCoverage += counts.noCoverage;
  total.other += counts.other;
}

function markdown(rows: readonly Row[]): string {
  const lines = [
    '| file | score | killed | timeout | survived | no coverage |',
    '| --- | --: | --: | --: | --: | --: |',
  ];
  for (const r of rows) {
    const cells = [r.score.toFixed(1) + ' %', r.killed, r.timeout, r.survived, r.noCoverage];
    lines.push(`| ${r.file} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function main(argv: readonly string[]): void {
  const report: Report = { files: {} };
  for (const file of REPORTS) {
    if (!existsSync(file)) continue;
    Object.assign(report.files, (JSON.parse(readFileSync(file, 'utf8')) as Report).files);
  }
  const files = Object.keys(report.files).sort();
  const rows: Row[] = [];
  const groups: Row[] = [];
  for (const group of GROUPS) {
    const members = files.filter((file) => group.files.some((prefix) => file.startsWith(prefix)));
    const total: Counts = { killed: 0, survived: 0, timeout: 0, noCoverage: 0, other: 0 };
    for (const file of members) {
      const counts = count(report.files[file]!.mutants);
      add(total, counts);
      rows.push(row(file, counts));
    }
    groups.push(row(`**${group.name}** (all)`, total));
  }
  process.stdout.write(`${markdown(rows)}\n\n${markdown(groups)}\n`);

  const jsonAt = argv.indexOf('--json');
  if (jsonAt >= 0) {
    const target = argv[jsonAt + 1];
    if (target === undefined) throw new Error('--json needs a file name');
    const round = (r: Row): Row => ({ ...r, score: Math.round(r.score * 10) / 10 });
    const summary = {
      groups: groups.map((g) => round({ ...g, file: g.file.replace(/\*\*| \(all\)/g, '') })),
      files: rows.map(round),
    };
    writeFileSync(target, `${JSON.stringify(summary, null, 2)}\n`);
  }

  if (argv.includes('--survivors')) {
    for (const file of files) {
      for (const m of report.files[file]!.mutants) {
        if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
        const { line, column } = m.location.start;
        const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
        process.stdout.write(
          `${file}:${line}:${column} ${m.status} ${m.mutatorName}: ${replacement}\n`,
        );
      }
    }
  }
}

main(process.argv.slice(2));

import type { Machine } from './machine';
import type { Table } from './table';

/** Where `npm run bench` writes every figure and bench/render-readme.ts reads them for docs/. */
export const RESULTS_FILE = 'bench/results.json';

/** One benchmark's part of results.json. */
export interface SuiteResult {
  readonly title: string;
  /** The command line that measured it (`--only` runs merge into an earlier file). */
  readonly command: string;
  readonly date: string;
  /** Load averages (1, 5, 15 min) when the benchmark started and ended. */
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly durationMs: number;
  readonly quick: boolean;
  readonly tables: readonly Table[];
  readonly notes: readonly string[];
  readonly figures: unknown;
}

/** The whole bench/results.json. */
export interface BenchResults {
  /** When the file was last written, and by which command. */
  readonly date: string;
  readonly command: string;
  readonly machine: Machine;
  readonly suites: Readonly<Record<string, SuiteResult>>;
}

import type { RoundResult } from './closed-loop';

/** Where `npm run bench:request` writes its figures and `npm run bench:readme` reads them. */
export const RESULTS_FILE = 'bench/request-results.json';

/** One measured round with its derived figures. */
export interface RoundFigures extends RoundResult {
  readonly requestsPerSecond: number;
  readonly cpuUsPerRequest: number;
}

/** One client's figures over the measured rounds (the warm-up round is not in them). */
export interface ClientResult {
  readonly id: string;
  readonly label: string;
  /** Median over rounds of completed requests per second. */
  readonly requestsPerSecond: number;
  /** Median over rounds of client CPU (user + system) per completed request, in µs. */
  readonly cpuUsPerRequest: number;
  /** requestsPerSecond divided by the undici Pool's. */
  readonly requestsPerSecondVsPool: number;
  /** cpuUsPerRequest divided by the undici Pool's. */
  readonly cpuVsPool: number;
  readonly rounds: readonly RoundFigures[];
}

/** The whole JSON file. */
export interface RequestBenchResults {
  readonly date: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly consul: string;
    readonly platform: string;
    /** 1-minute load average before and after the run: on a shared machine it says how loaded it was. */
    readonly loadAverage: { readonly before: number; readonly after: number };
  };
  readonly setup: {
    readonly targets: number;
    readonly workers: number;
    readonly maxRequestsPerRound: number;
    readonly maxMsPerRound: number;
    readonly rounds: number;
    readonly warmupRounds: number;
  };
  readonly clients: readonly ClientResult[];
}

/** Median of a non-empty list (mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

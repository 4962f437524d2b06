import type { RoundResult } from './closed-loop';

/** One measured round with its derived figures. */
export interface RoundFigures extends RoundResult {
  readonly requestsPerSecond: number;
  readonly cpuUsPerRequest: number;
  /** CPU of the sidecar over the round per completed request, in µs (HAProxy only). */
  readonly sidecarCpuUsPerRequest?: number;
}

/** One client's figures over the measured rounds (the warm-up round is not in them). */
export interface ClientResult {
  readonly id: string;
  readonly label: string;
  /** Median over rounds of completed requests per second. */
  readonly requestsPerSecond: number;
  /** Median over rounds of client CPU (user + system) per completed request, in µs. */
  readonly cpuUsPerRequest: number;
  /** Median over rounds of client + sidecar CPU per completed request, in µs (= client CPU without a sidecar). */
  readonly totalCpuUsPerRequest: number;
  /** requestsPerSecond divided by the undici Pool's. */
  readonly requestsPerSecondVsPool: number;
  /** cpuUsPerRequest divided by the undici Pool's. */
  readonly cpuVsPool: number;
  readonly rounds: readonly RoundFigures[];
}

/** The throughput benchmark's figures in results.json. */
export interface ThroughputFigures {
  readonly setup: {
    readonly targets: number;
    readonly workers: number;
    readonly maxRequestsPerRound: number;
    readonly maxMsPerRound: number;
    readonly rounds: number;
    readonly warmupRounds: number;
  };
  readonly clients: readonly ClientResult[];
  readonly goals: readonly {
    readonly goal: string;
    readonly ratio: number;
    readonly met: boolean;
  }[];
}

/** Health states the route reports, in Consul's vocabulary. */
export type HealthState = 'passing' | 'warning' | 'critical';

/**
 * One dependency check, e.g. a database ping. `check` resolves to a state (or `true`/`undefined` for
 * passing, `false` for critical); throwing, rejecting or missing the timeout counts as critical.
 */
export interface HealthIndicator {
  readonly name: string;
  readonly check: (
    signal: AbortSignal,
  ) => Promise<HealthState | boolean | void> | HealthState | boolean | void;
}

/** The outcome of all indicators: the worst state wins. */
export interface HealthReport {
  readonly status: HealthState;
  /** State per indicator name; never an error message, stack or version (Consul shows check output to any reader). */
  readonly checks: Readonly<Record<string, HealthState>>;
}

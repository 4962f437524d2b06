import type { Logger } from '../logger';
import { evaluateHealth } from './evaluate-health';
import type { UndocumentedResult } from './evaluate-health';
import type { HealthIndicator, HealthReport } from './health-indicator';

/**
 * Evaluates the indicators for the health route, one evaluation at a time: requests that arrive
 * while one runs share its report, so a burst of checks (Consul's, a load balancer's, a flood)
 * costs one run of each indicator, never one per request. Nothing is cached once an evaluation
 * ends: the next request starts a fresh one, so Consul never sees a state older than the longest
 * indicator (at most `indicatorTimeoutMs`). An undocumented result is logged once per indicator.
 */
export class HealthEvaluator {
  private running: Promise<HealthReport> | undefined;
  private readonly reported = new Set<string>();

  constructor(
    private readonly indicators: readonly HealthIndicator[],
    private readonly indicatorTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** The report of the evaluation in progress, or of a new one when none is. */
  evaluate(): Promise<HealthReport> {
    if (this.running) return this.running;
    const running = evaluateHealth(this.indicators, this.indicatorTimeoutMs, (result) =>
      this.reportUndocumented(result),
    ).finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private reportUndocumented({ indicator, type }: UndocumentedResult): void {
    if (this.reported.has(indicator)) return;
    this.reported.add(indicator);
    this.logger.error(
      { indicator, type },
      `health indicator '${indicator}' returned an undocumented result (a ${type}); counted as critical. ` +
        "Return 'passing', 'warning', 'critical', true, false or nothing",
    );
  }
}

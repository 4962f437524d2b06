import type { HealthIndicator, HealthReport, HealthState } from './health-indicator';

const RANK: Record<HealthState, number> = { passing: 0, warning: 1, critical: 2 };

function toState(result: HealthState | boolean | void): HealthState {
  if (result === undefined || result === true) return 'passing';
  if (result === false) return 'critical';
  return result in RANK ? result : 'critical';
}

async function runOne(indicator: HealthIndicator, timeoutMs: number): Promise<HealthState> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthState>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`health indicator '${indicator.name}' timed out`));
      resolve('critical');
    }, timeoutMs);
    timer.unref();
  });
  try {
    const outcome = Promise.resolve()
      .then(() => indicator.check(controller.signal))
      .then(toState, () => 'critical' as const);
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every indicator concurrently, each bounded by `timeoutMs`; the worst state is the service's. */
export async function evaluateHealth(
  indicators: readonly HealthIndicator[],
  timeoutMs: number,
): Promise<HealthReport> {
  const states = await Promise.all(indicators.map((indicator) => runOne(indicator, timeoutMs)));
  const checks: Record<string, HealthState> = {};
  let status: HealthState = 'passing';
  indicators.forEach((indicator, i) => {
    const state = states[i] ?? 'critical';
    checks[indicator.name] = state;
    if (RANK[state] > RANK[status]) status = state;
  });
  return { status, checks };
}

/** HTTP status Consul maps back to the check state: 200 passing, 429 warning, anything else critical. */
export function httpStatusOf(state: HealthState): 200 | 429 | 503 {
  return state === 'passing' ? 200 : state === 'warning' ? 429 : 503;
}

import type { HealthIndicator, HealthReport, HealthState } from './health-indicator';

const RANK: Readonly<Record<HealthState, number>> = Object.freeze({
  passing: 0,
  warning: 1,
  critical: 2,
});

/** The only strings an indicator may answer; anything else is critical. */
const DOCUMENTED_STATES: ReadonlySet<unknown> = new Set<HealthState>(
  Object.keys(RANK) as HealthState[],
);

/** An indicator answered something that is not a documented result: its name and what it was. */
export interface UndocumentedResult {
  readonly indicator: string;
  /** `typeof` the value, e.g. `string`, `number`, `object` (never the value: it may hold anything). */
  readonly type: string;
}

/** What one indicator's answer means; `undocumented` is set when it counts as critical for being unknown. */
function toState(result: unknown): { state: HealthState; undocumented: boolean } {
  if (result === undefined || result === true) return { state: 'passing', undocumented: false };
  if (result === false) return { state: 'critical', undocumented: false };
  // A Set, not `in` on an object: 'toString', 'constructor' or '__proto__' are in every object.
  if (typeof result === 'string' && DOCUMENTED_STATES.has(result))
    return { state: result as HealthState, undocumented: false };
  return { state: 'critical', undocumented: true };
}

async function runOne(
  indicator: HealthIndicator,
  timeoutMs: number,
  onUndocumented: (result: UndocumentedResult) => void,
): Promise<HealthState> {
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
      .then(
        (result: unknown) => {
          const { state, undocumented } = toState(result);
          if (undocumented) onUndocumented({ indicator: indicator.name, type: typeOf(result) });
          return state;
        },
        () => 'critical' as const,
      );
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Runs every indicator concurrently, each bounded by `timeoutMs`; the worst state is the service's.
 * Only `'passing'`, `'warning'`, `'critical'`, `true`, `false` and `undefined` are results; anything
 * else counts as critical and is reported to `onUndocumented`.
 */
export async function evaluateHealth(
  indicators: readonly HealthIndicator[],
  timeoutMs: number,
  onUndocumented: (result: UndocumentedResult) => void = () => undefined,
): Promise<HealthReport> {
  const states = await Promise.all(
    indicators.map((indicator) => runOne(indicator, timeoutMs, onUndocumented)),
  );
  // No prototype: an indicator named '__proto__' is a name like any other.
  const checks = Object.create(null) as Record<string, HealthState>;
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

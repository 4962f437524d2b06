// Steady, bounded load for the chaos scenarios: `ratePerSecond` calls per caller, for as long as the
// scenario's action runs plus a tail, never longer than `maxMs` nor more than rate × maxMs calls.
// Every call's outcome and latency is counted; nothing is retried here.

/** How one call ended; `error` names the failure (an error code or a status). */
export type CallResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** One kind of client under load. */
export type Caller = () => Promise<CallResult>;

/** Counts of one caller over a run. */
export interface LoadCounts {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures by their `error`. */
  readonly errors: Readonly<Record<string, number>>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LoadOptions<K extends string> {
  readonly callers: Readonly<Record<K, Caller>>;
  /** Calls per second of each caller. */
  readonly ratePerSecond: number;
  /** The fault under test; the load runs until it settles and `tailMs` more. */
  readonly action: () => Promise<void>;
  /** Load after the action, in ms. Default 1000. */
  readonly tailMs?: number;
  /** Load before the action, in ms. Default 1000. */
  readonly leadMs?: number;
  /** Hard bound of the load, in ms. */
  readonly maxMs: number;
}

const TICK_MS = 10;

/** Runs the load around `action`; rejects with the action's error after the load has settled. */
export async function runLoad<K extends string>(
  options: LoadOptions<K>,
): Promise<Record<K, LoadCounts>> {
  const names = Object.keys(options.callers) as K[];
  const latencies = new Map<K, number[]>(names.map((name) => [name, []]));
  const errors = new Map<K, Map<string, number>>(names.map((name) => [name, new Map()]));
  const okCounts = new Map<K, number>(names.map((name) => [name, 0]));
  const inFlight: Promise<void>[] = [];
  const maxCalls = Math.ceil((options.ratePerSecond * options.maxMs) / 1000);

  let actionDone = false;
  let actionError: unknown;
  let actionEndedAt = Infinity;
  const startedAt = performance.now();
  const leadMs = options.leadMs ?? 1_000;
  const tailMs = options.tailMs ?? 1_000;
  let actionStarted = false;

  let sent = 0;
  while (sent < maxCalls) {
    const now = performance.now();
    if (now - startedAt >= options.maxMs) break;
    if (actionDone && now - actionEndedAt >= tailMs) break;
    if (!actionStarted && now - startedAt >= leadMs) {
      actionStarted = true;
      void options.action().then(
        () => {
          actionDone = true;
          actionEndedAt = performance.now();
        },
        (error: unknown) => {
          actionError = error;
          actionDone = true;
          actionEndedAt = performance.now();
        },
      );
    }
    const due = Math.min(maxCalls, Math.floor(((now - startedAt) * options.ratePerSecond) / 1000));
    for (; sent < due; sent++) {
      for (const name of names) {
        const callStartedAt = performance.now();
        inFlight.push(
          options.callers[name]().then(
            (result) => {
              latencies.get(name)!.push(performance.now() - callStartedAt);
              if (result.ok) okCounts.set(name, okCounts.get(name)! + 1);
              else count(errors.get(name)!, result.error);
            },
            (error: unknown) => {
              latencies.get(name)!.push(performance.now() - callStartedAt);
              count(errors.get(name)!, `threw: ${String(error)}`);
            },
          ),
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.all(inFlight);
  if (!actionStarted) throw new Error('the load ended before the action started');
  if (!actionDone) throw new Error(`the action did not settle within ${options.maxMs} ms`);
  if (actionError !== undefined) {
    throw actionError instanceof Error
      ? actionError
      : new Error('the action failed', { cause: actionError });
  }

  const result = {} as Record<K, LoadCounts>;
  for (const name of names) {
    const sorted = [...latencies.get(name)!].sort((a, b) => a - b);
    const failures = Object.fromEntries(errors.get(name)!);
    const failed = Object.values(failures).reduce((sum, n) => sum + n, 0);
    result[name] = {
      sent,
      ok: okCounts.get(name)!,
      failed,
      errors: failures,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? 0,
    };
  }
  return result;
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The `q` quantile of sorted values (nearest rank), rounded to 0.1 ms. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]! * 10) / 10;
}

/** One GET through the gateway. */
export interface Outcome {
  /** HTTP status; 0 for a network error or timeout. */
  readonly status: number;
  /** The my_service instance that answered (its service id), on a 200. */
  readonly id?: string;
  /** Its INSTANCE_NAME (the examples' `Hello from NAME`), on a 200. */
  readonly instance?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly error?: string;
}

/** One GET of `url`, bounded by `timeoutMs`; never throws. */
export async function callOnce(url: string, timeoutMs = 10_000): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    const endedAt = performance.now();
    if (response.status !== 200)
      return { status: response.status, startedAt, endedAt, error: text.slice(0, 200) };
    const body = JSON.parse(text) as { id: string; message: string };
    return {
      status: 200,
      id: body.id,
      instance: body.message.replace('Hello from ', ''),
      startedAt,
      endedAt,
    };
  } catch (error) {
    return { status: 0, startedAt, endedAt: performance.now(), error: String(error) };
  }
}

/** A load loop in the background: `concurrency` workers, bounded in count and in time. */
export interface Load {
  readonly outcomes: readonly Outcome[];
  /** Stops the workers (each finishes its request in flight) and waits for them. */
  stop(): Promise<void>;
  /** Resolves when the bound in count or time is reached. */
  readonly done: Promise<void>;
}

export function startLoad(
  url: string,
  { concurrency, maxRequests, maxMs }: { concurrency: number; maxRequests: number; maxMs: number },
): Load {
  const outcomes: Outcome[] = [];
  const deadline = Date.now() + maxMs;
  let stopped = false;
  let started = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopped && started < maxRequests && Date.now() < deadline) {
      started += 1;
      outcomes.push(await callOnce(url));
    }
  });
  const done = Promise.all(workers).then(() => undefined);
  return {
    outcomes,
    done,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Requests, failures, per-instance split and latency percentiles (nearest rank), in ms. */
export function summarize(outcomes: readonly Outcome[]): {
  requests: number;
  failed: number;
  perInstance: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
} {
  const perInstance: Record<string, number> = {};
  for (const { instance } of outcomes)
    if (instance !== undefined) perInstance[instance] = (perInstance[instance] ?? 0) + 1;
  const latencies = outcomes.map((o) => o.endedAt - o.startedAt).sort((a, b) => a - b);
  const rank = (q: number): number =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  return {
    requests: outcomes.length,
    failed: outcomes.filter((o) => o.status !== 200).length,
    perInstance,
    p50Ms: Math.round(rank(0.5) * 10) / 10,
    p99Ms: Math.round(rank(0.99) * 10) / 10,
  };
}

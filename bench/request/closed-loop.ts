/** What one closed-loop round measured. */
export interface RoundResult {
  /** Requests that completed with a 2xx answer and a fully read body. */
  readonly requests: number;
  /** Requests that threw or answered something else (counted, not retried). */
  readonly errors: number;
  /** Wall time from the first request to the last answer, in ms. */
  readonly ms: number;
  /** Client process CPU (user + system) over the round, in µs. */
  readonly cpuUs: number;
}

/** Bounds of one round: it stops at whichever limit comes first. */
export interface RoundLimits {
  /** Concurrent workers, each with one request in flight at a time. */
  readonly workers: number;
  /** Requests started at most. */
  readonly maxRequests: number;
  /** No request starts after this, in ms from the start of the round. */
  readonly maxMs: number;
  /** Ends the round early (Ctrl-C). */
  readonly signal: AbortSignal;
}

/**
 * Runs `call` in a closed loop: `workers` loops that each start the next request once their
 * previous one has finished, until the count or the time is spent. `call` resolves true for a
 * good answer. CPU is the whole client process's, so it includes the client's background work
 * (for example discovery's watch), which is part of its cost.
 */
export async function closedLoop(
  call: () => Promise<boolean>,
  limits: RoundLimits,
): Promise<RoundResult> {
  let started = 0;
  let requests = 0;
  let errors = 0;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + limits.maxMs;
  const worker = async (): Promise<void> => {
    while (started < limits.maxRequests && !limits.signal.aborted && performance.now() < deadline) {
      started += 1;
      const ok = await call().catch(() => false);
      if (ok) requests += 1;
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: limits.workers }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpuBefore);
  return { requests, errors, ms, cpuUs: cpu.user + cpu.system };
}

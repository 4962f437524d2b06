import type { IncomingHttpHeaders } from 'node:http';

/** What a load loop learns from one answer (bench/targets/http-target.ts names itself in headers). */
export interface Answer {
  /** `host:port` of the instance that answered. */
  readonly instance: string;
  /** When the request reached the instance, ms since the epoch (the target's clock, same machine). */
  readonly arrivedAt: number;
  /** From sending to the whole body read, in ms. */
  readonly latencyMs: number;
}

/** One request whose body has been read: status and headers. */
export type HeadersCall = () => Promise<{ statusCode: number; headers: IncomingHttpHeaders }>;

/** Counts of a finished load loop. */
export interface LoadSummary {
  readonly answers: number;
  readonly errors: number;
  readonly ms: number;
}

/** A running closed-loop load: `stop()` lets every worker finish its request and resolves. */
export interface RunningLoad {
  readonly done: Promise<LoadSummary>;
  stop(): Promise<LoadSummary>;
}

/** Now in ms since the epoch, with a fraction, comparable with the targets' `x-arrived-at`. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * `workers` loops that each send the next request once their previous one has been answered,
 * until `stop()`, `maxMs` or `maxRequests` (whichever first), reporting every good answer to
 * `onAnswer`. Failed requests are counted, not retried.
 */
export function startLoad(
  call: HeadersCall,
  limits: {
    readonly workers: number;
    readonly maxMs: number;
    readonly maxRequests?: number;
    readonly signal: AbortSignal;
    readonly onAnswer: (answer: Answer) => void;
  },
): RunningLoad {
  let stopped = false;
  let started = 0;
  let answers = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + limits.maxMs;
  const maxRequests = limits.maxRequests ?? Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    while (
      !stopped &&
      !limits.signal.aborted &&
      started < maxRequests &&
      performance.now() < deadline
    ) {
      started += 1;
      const sent = performance.now();
      try {
        const { statusCode, headers } = await call();
        if (statusCode !== 200) {
          errors += 1;
          continue;
        }
        answers += 1;
        limits.onAnswer({
          instance: String(headers['x-instance']),
          arrivedAt: Number(headers['x-arrived-at']),
          latencyMs: performance.now() - sent,
        });
      } catch {
        errors += 1;
      }
    }
  };
  const done = Promise.all(Array.from({ length: limits.workers }, worker)).then(() => ({
    answers,
    errors,
    ms: performance.now() - t0,
  }));
  return {
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

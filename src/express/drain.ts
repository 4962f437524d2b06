import type { Logger } from '../logger';
import { errorSummary } from '../error-summary';
import { finishedBefore } from '../resilience/aborted-promise';

/** One step of a drain; `signal` aborts when the drain's single deadline passes. */
export interface DrainPhase {
  /** Short name for logs and reports, e.g. `leave-consul`. */
  readonly name: string;
  run(signal: AbortSignal): Promise<unknown> | void;
}

/** What became of a phase: finished, threw, was still running at the deadline, or never started. */
export type DrainPhaseOutcome = 'done' | 'failed' | 'deadline' | 'skipped';

/** How a drain went, phase by phase. */
export interface DrainReport {
  /** True when the deadline passed before every phase had finished, and `atDeadline` ran. */
  readonly deadlineReached: boolean;
  readonly phases: readonly {
    readonly name: string;
    readonly outcome: DrainPhaseOutcome;
    /** Time the phase took (or had until the deadline), in ms. */
    readonly ms: number;
  }[];
}

/** The drain to run. */
export interface DrainPlan {
  /** The whole drain's time, in ms, from the call of `runDrain()`. */
  readonly timeoutMs: number;
  readonly phases: readonly DrainPhase[];
  /** Runs when the deadline passed before the phases ended: cut whatever is still open. */
  atDeadline(signal: AbortSignal): Promise<void>;
}

/**
 * Runs the phases one after another under one deadline, so each has what the earlier ones left.
 * A phase that fails is logged and the next one runs (a drain that stops half-way would leave
 * sockets and pools open); once the deadline passes, later phases are skipped and `atDeadline`
 * destroys what remains, so the drain ends within `timeoutMs` plus the time to destroy.
 */
export async function runDrain(plan: DrainPlan, logger: Logger): Promise<DrainReport> {
  const deadline = new AbortController();
  // Ref'd on purpose: a phase waiting on a promise that holds no handle must not let the process
  // end quietly (exit code 0) before the deadline cuts it.
  const timer = setTimeout(() => deadline.abort(), plan.timeoutMs);
  const { signal } = deadline;
  const phases: DrainReport['phases'][number][] = [];
  try {
    for (const phase of plan.phases) {
      const startedAt = Date.now();
      let outcome: DrainPhaseOutcome = 'skipped';
      if (!signal.aborted) {
        try {
          outcome = (await finishedBefore(() => phase.run(signal), signal)) ? 'done' : 'deadline';
        } catch (error) {
          outcome = 'failed';
          logger.warn({ phase: phase.name, err: errorSummary(error) }, 'drain phase failed');
        }
      }
      if (outcome === 'deadline')
        logger.warn({ phase: phase.name }, 'drain deadline passed during this phase');
      phases.push({ name: phase.name, outcome, ms: Date.now() - startedAt });
    }
    const deadlineReached = signal.aborted;
    if (deadlineReached) await plan.atDeadline(signal);
    return { deadlineReached, phases };
  } finally {
    clearTimeout(timer);
  }
}

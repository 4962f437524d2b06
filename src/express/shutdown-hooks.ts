import type { Logger } from '../logger';
import { errorSummary } from '../error-summary';
import { finishedBefore } from '../resilience/aborted-promise';

/**
 * Work the app does inside the drain (close a database, flush a queue). `signal` aborts when the
 * drain deadline passes: what is left of `shutdown.drainTimeoutMs` is the hook's time.
 */
export type ShutdownHook = (signal: AbortSignal) => Promise<void> | void;

/** The app's shutdown hooks, run one after another in registration order. */
export class ShutdownHooks {
  private readonly hooks: ShutdownHook[] = [];

  /** Adds `hook`; returns the function that removes it. */
  add(hook: ShutdownHook): () => void {
    this.hooks.push(hook);
    return () => {
      const at = this.hooks.indexOf(hook);
      if (at >= 0) this.hooks.splice(at, 1);
    };
  }

  /**
   * Runs every hook in order, each until it settles or `signal` aborts. A hook that throws or
   * outlives the deadline is logged (its name and the error's name, code and message) and the
   * next one runs; hooks not started by the deadline are skipped. Never rejects.
   */
  async run(signal: AbortSignal, logger: Logger): Promise<void> {
    for (const [index, hook] of [...this.hooks].entries()) {
      const name = hook.name || `#${index + 1}`;
      if (signal.aborted) {
        logger.warn({ hook: name }, 'shutdown hook skipped: the drain deadline has passed');
        continue;
      }
      try {
        if (!(await finishedBefore(() => hook(signal), signal))) {
          logger.warn({ hook: name }, 'shutdown hook still running at the drain deadline');
        }
      } catch (error) {
        logger.warn({ hook: name, err: errorSummary(error) }, 'shutdown hook failed');
      }
    }
  }
}

import { constants } from 'node:os';
import type { Logger } from '../logger';
import { errorSummary } from '../error-summary';

/** How the handlers end the process. */
export interface SignalHandlerOptions {
  /**
   * After this long from the signal, in ms, the process exits even if the drain (or the app's own
   * signal listener) has not finished: a backstop; the drain's own deadline should come first.
   */
  readonly exitAfterMs: number;
}

/** The handlers of every adapter in this process whose drain is done, waiting for the process to end. */
const finished = new Map<unknown, () => void>();

/** What a shell reports for a process that died of `signal` (143 for SIGTERM, 130 for SIGINT). */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Installs handlers that call `drain` on the first of `signals`, then end the process the way its
 * supervisor expects. The contract:
 *
 * - Node calls every listener of a signal once. When ours are the only ones left, we re-raise the
 *   signal after the drain: the default action ends the process, dead by that signal.
 * - When the app (or another library) listens too, it has already heard this signal and may be
 *   cleaning up. Re-raising would call it a second time, so we do not: the process ends on its
 *   own once the app lets go of the event loop, with exit code 128 + the signal's number (unless
 *   the app set `process.exitCode`), or at the backstop, `exitAfterMs` after the signal, with that
 *   code. An app whose listener calls `process.exit()` itself ends the drain where it stands:
 *   `onShutdown` hooks are the place for cleanup that must run inside the drain.
 * - A second signal during the drain, or while waiting for the app, ends the process at once.
 *
 * Returns the function that removes the handlers; once a signal is being handled they stay until
 * the process ends (so that a second signal still ends it). Only the Express adapter calls this.
 */
export function installSignalHandlers(
  signals: readonly NodeJS.Signals[],
  drain: () => Promise<void>,
  logger: Logger,
  options: SignalHandlerOptions,
): () => void {
  let handling = false;
  let backstop: NodeJS.Timeout | undefined;
  const detach = (): void => {
    finished.delete(handler);
    for (const signal of signals) process.off(signal, handler);
  };
  /** Ends the process now: the default action when nobody else listens, else exit with its code. */
  const endNow = (signal: NodeJS.Signals): void => {
    clearTimeout(backstop);
    detach();
    if (process.listenerCount(signal) === 0) {
      process.kill(process.pid, signal);
      return;
    }
    // Called from within the signal's emit: the listeners after ours still hear this one.
    setImmediate(() => process.exit(exitCodeOf(signal)));
  };
  const drained = (signal: NodeJS.Signals): void => {
    // Handlers of other adapters whose drain is done count as nobody: they only wait for the end.
    const others = process
      .listeners(signal)
      .filter((listener) => listener !== handler && !finished.has(listener));
    if (others.length === 0) {
      clearTimeout(backstop);
      for (const detachFinished of [...finished.values()]) detachFinished();
      detach();
      process.kill(process.pid, signal);
      return;
    }
    process.exitCode ??= exitCodeOf(signal);
    finished.set(handler, detach);
  };
  function handler(signal: NodeJS.Signals): void {
    if (handling) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      endNow(signal);
      return;
    }
    handling = true;
    logger.info({ signal }, 'signal received; draining');
    backstop = setTimeout(() => {
      logger.error({ signal }, 'shutdown overran its deadline; exiting now');
      endNow(signal);
    }, options.exitAfterMs);
    // The drain holds the event loop open itself; once it is done, only the app's handles should.
    backstop.unref();
    drain().then(
      () => drained(signal),
      (error: unknown) => {
        logger.error({ err: errorSummary(error) }, 'drain failed');
        drained(signal);
      },
    );
  }
  for (const signal of signals) process.on(signal, handler);
  return () => {
    if (!handling) detach();
  };
}

import { constants } from 'node:os';
import type { Logger } from '../logger';
import { errorSummary } from '../registration/service-registration';

/** How the handlers end the process. */
export interface SignalHandlerOptions {
  /**
   * After this long from the signal, in ms, the process exits even if the drain has not finished
   * (a backstop; the drain's own deadline should come first).
   */
  readonly exitAfterMs: number;
}

/**
 * Installs handlers that call `drain` on the first of `signals`, then re-raise that signal so the
 * process ends the way its supervisor expects; a second signal during the drain ends it at once.
 * When the app listens to the signal too, Node does not apply the default action to the re-raised
 * signal, so the process would live on: then, once the app's listeners have heard it, the process
 * exits with 128 + the signal's number (143 for SIGTERM), the code a shell reports for that death.
 * Returns the function that removes the handlers. Only the Express adapter calls this.
 */
export function installSignalHandlers(
  signals: readonly NodeJS.Signals[],
  drain: () => Promise<void>,
  logger: Logger,
  options: SignalHandlerOptions,
): () => void {
  let draining = false;
  const remove = (): void => {
    for (const signal of signals) process.off(signal, handler);
  };
  const reRaise = (signal: NodeJS.Signals): void => {
    remove();
    if (process.listenerCount(signal) > 0) {
      // Registered last, so it runs after the app's own listeners in the same emit.
      process.once(signal, () => {
        setImmediate(() => process.exit(128 + (constants.signals[signal] ?? 0)));
      });
    }
    process.kill(process.pid, signal);
  };
  function handler(signal: NodeJS.Signals): void {
    if (draining) {
      logger.warn({ signal }, 'second signal during drain; exiting now');
      reRaise(signal);
      return;
    }
    draining = true;
    logger.info({ signal }, 'signal received; draining');
    const backstop = setTimeout(() => {
      logger.error({ signal }, 'drain overran its deadline; exiting now');
      reRaise(signal);
    }, options.exitAfterMs);
    drain().then(
      () => {
        clearTimeout(backstop);
        reRaise(signal);
      },
      (error: unknown) => {
        clearTimeout(backstop);
        logger.error({ err: errorSummary(error) }, 'drain failed');
        reRaise(signal);
      },
    );
  }
  for (const signal of signals) process.on(signal, handler);
  return remove;
}

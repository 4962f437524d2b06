import type { Logger } from '../logger';
import { errorSummary } from '../registration/service-registration';

/**
 * Installs handlers that call `drain` on the first of `signals`, then re-raise that signal so the
 * process ends the way its supervisor expects; a second signal during the drain ends it at once.
 * Returns the function that removes the handlers. Only the Express adapter calls this.
 */
export function installSignalHandlers(
  signals: readonly NodeJS.Signals[],
  drain: () => Promise<void>,
  logger: Logger,
): () => void {
  let draining = false;
  const remove = (): void => {
    for (const signal of signals) process.off(signal, handler);
  };
  const reRaise = (signal: NodeJS.Signals): void => {
    remove();
    // Without our handler Node applies the default action (exit by signal) unless the app listens too.
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
    drain().then(
      () => reRaise(signal),
      (error: unknown) => {
        logger.error({ err: errorSummary(error) }, 'drain failed');
        reRaise(signal);
      },
    );
  }
  for (const signal of signals) process.on(signal, handler);
  return remove;
}

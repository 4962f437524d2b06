/** A promise that resolves when a signal aborts, and a way to drop its listener. */
export interface AbortedPromise {
  readonly promise: Promise<void>;
  /** Removes the abort listener; a signal that never fires must not keep it. */
  dispose(): void;
}

/** Resolves (never rejects) when `signal` aborts, at once if it already has. */
export function abortedPromise(signal: AbortSignal): AbortedPromise {
  let onAbort: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Runs `work` and resolves true when it finishes before `signal` aborts, false when the signal
 * aborts first (the work goes on unobserved; a later rejection of it is swallowed). Rejects with
 * the work's error when it fails first. Sync throws of `work` count as failures.
 */
export async function finishedBefore(work: () => unknown, signal: AbortSignal): Promise<boolean> {
  const running = Promise.resolve().then(work);
  running.catch(() => undefined);
  const aborted = abortedPromise(signal);
  try {
    return await Promise.race([running.then(() => true), aborted.promise.then(() => false)]);
  } finally {
    aborted.dispose();
  }
}

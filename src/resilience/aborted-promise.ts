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

/**
 * `promise`, or a rejection with `reason()` (default: the signal's reason) as soon as `signal`
 * aborts, at once if it already has; the listener is removed either way. For work that does not
 * stop at the signal by itself: undici, for one, fails an aborted request only when it would
 * have written it, so a call queued behind a lane's blocking queries waited their whole wait.
 * The work goes on unobserved after an abort: `onLate` gets what it resolves with then (to free
 * it, e.g. a response body), and a late rejection is swallowed.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  reason: () => Error = () => signal?.reason as Error,
  onLate: (value: T) => void = () => undefined,
): Promise<T> {
  if (!signal) return promise;
  const late = (): void => {
    promise.then(onLate, () => undefined);
  };
  if (signal.aborted) {
    late();
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      late();
      reject(reason());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The reason a {@link Deadline}'s signal aborts when its own time runs out. A `TimeoutError`
 * DOMException, as `AbortSignal.timeout()` gives, so code reading `name` sees the platform's
 * meaning; its own class, so a parent's reason (which may itself be a `TimeoutError`, say from the
 * caller's `AbortSignal.timeout()`) is never taken for ours.
 */
export class DeadlineExpired extends DOMException {
  /** The time limit that passed, in ms. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`, 'TimeoutError');
    this.timeoutMs = timeoutMs;
  }
}

/** True when `reason` is a {@link Deadline}'s own expiry, not a parent's abort. */
export function isDeadlineExpired(reason: unknown): reason is DeadlineExpired {
  return reason instanceof DeadlineExpired;
}

/** A signal that aborts when its parents abort or its time runs out; dispose it when done. */
export interface Deadline extends Disposable {
  /** Aborts with the first parent's reason, or with a {@link DeadlineExpired} at the deadline. */
  readonly signal: AbortSignal;
  /** True once the time ran out before any parent aborted. */
  readonly expired: boolean;
  /** Clears the timer and removes the listeners on the parents. Idempotent. */
  dispose(): void;
}

/**
 * A deadline `timeoutMs` from now under `parents` (undefined ones are skipped). Unlike
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, which keeps its timer and its listener
 * on a long-lived parent until the timer fires, `dispose()` frees both at once, and the reason
 * says which one ended it. The timer is unref'd: a deadline never keeps the process alive.
 */
export function startDeadline(
  timeoutMs: number,
  ...parents: readonly (AbortSignal | undefined)[]
): Deadline {
  const controller = new AbortController();
  const listened: AbortSignal[] = [];
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const dispose = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const parent of listened.splice(0)) parent.removeEventListener('abort', onParentAbort);
  };
  function onParentAbort(this: AbortSignal): void {
    dispose();
    controller.abort(this.reason);
  }
  const alreadyAborted = parents.find((parent) => parent?.aborted);
  if (alreadyAborted !== undefined) {
    controller.abort(alreadyAborted.reason);
  } else {
    for (const parent of parents) {
      if (parent === undefined) continue;
      parent.addEventListener('abort', onParentAbort, { once: true });
      listened.push(parent);
    }
    timer = setTimeout(() => {
      expired = true;
      dispose();
      controller.abort(new DeadlineExpired(timeoutMs));
    }, timeoutMs);
    timer.unref();
  }
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    dispose,
    [Symbol.dispose]: dispose,
  };
}

import { InvalidStateError } from '../errors';
import type { Logger } from '../logger';

/** A subscriber to one kind of event. */
export type Listener<E> = (event: E) => void;

/**
 * The one way every emitter of the library calls its listeners (watchers, registration, outlier
 * detection, configs, leader elections): in subscription order, each guarded. A listener that
 * throws is logged, with its message only, and the others still run; nothing is rethrown, because
 * the code that announces an event (a user's request, a watch loop, a registration step) must not
 * fail for a bug in a listener. A logger that throws in turn is ignored for the same reason.
 */
export class ListenerSet<E> {
  readonly #listeners = new Set<Listener<E>>();

  /**
   * @param what names the listeners in the log line: `express-consul: a ${what} threw`.
   * @param logger where a throwing listener is reported (read at each report: some owners
   *   receive theirs after construction).
   * @param context fields added to that log line (service, key...).
   */
  constructor(
    private readonly what: string,
    private readonly logger: () => Logger,
    private readonly context: Readonly<Record<string, unknown>> = {},
  ) {}

  get size(): number {
    return this.#listeners.size;
  }

  /** Subscribes `listener`; returns the function that removes this subscription (and only it). */
  add(listener: Listener<E>): () => void {
    if (typeof listener !== 'function') throw new InvalidStateError('listener must be a function');
    // A wrapper per subscription: the same function subscribed twice is removed one at a time.
    const entry: Listener<E> = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Calls every listener with `event`; never throws. */
  emit(event: E): void {
    if (this.#listeners.size === 0) return;
    // A copy: a listener may unsubscribe itself or others while the event is delivered.
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.report(error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }

  private report(error: unknown): void {
    try {
      this.logger().error(
        { ...this.context, error: error instanceof Error ? error.message : String(error) },
        `express-consul: a ${this.what} threw`,
      );
    } catch {
      // The logger itself failed: the event was delivered to the other listeners all the same.
    }
  }
}

/**
 * Cuts a long synchronous loop into slices of at most `sliceMs`, giving the event loop a turn in
 * between: a 10,000-instance answer takes a few hundred ms of one thread to check and convert,
 * during which the service would answer nothing. A loop asks `due()` after each item (a clock
 * read, nothing more) and awaits `pause()` only when the slice is used up, so a short loop never
 * yields at all and costs no extra tick.
 */

/** Longest stretch of applying work between two turns of the event loop, in ms. */
export const APPLY_SLICE_MS = 8;

/**
 * Answers with at least this many entries are applied in slices; smaller ones (the common case:
 * well under a slice of work) are applied synchronously, in the tick their answer arrived.
 */
export const SLICED_APPLY_MIN_ENTRIES = 512;

/** Options of {@link TimeSlicer}; every field is optional. */
export interface TimeSlicerOptions {
  /** Stops the work: `pause()` rejects with the signal's reason once it fired. */
  readonly signal?: AbortSignal | undefined;
  /** Longest stretch between yields, in ms. Default: APPLY_SLICE_MS. */
  readonly sliceMs?: number;
  /** Clock for the slices, in ms. Default: performance.now. */
  readonly now?: () => number;
  /** How to yield. Default: setImmediate (lets I/O callbacks, incoming requests, run in between). */
  readonly yieldNow?: () => Promise<void>;
}

const defaultYield = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const defaultNow = (): number => performance.now();

export class TimeSlicer {
  private readonly sliceMs: number;
  private readonly now: () => number;
  private readonly yieldNow: () => Promise<void>;
  private readonly signal: AbortSignal | undefined;
  private sliceStart: number;
  /** Turns given to the event loop so far (for tests and measurements). */
  yields = 0;

  constructor(options: TimeSlicerOptions = {}) {
    this.sliceMs = options.sliceMs ?? APPLY_SLICE_MS;
    this.now = options.now ?? defaultNow;
    this.yieldNow = options.yieldNow ?? defaultYield;
    this.signal = options.signal;
    this.sliceStart = this.now();
  }

  /** True when the current slice is used up: the caller should `await pause()` now. */
  due(): boolean {
    return this.now() - this.sliceStart >= this.sliceMs;
  }

  /** Gives the event loop a turn, then starts a new slice; rejects once the signal fired. */
  async pause(): Promise<void> {
    this.signal?.throwIfAborted();
    await this.yieldNow();
    this.yields += 1;
    this.signal?.throwIfAborted();
    this.sliceStart = this.now();
  }
}

/**
 * Work written as steps: a generator that yields wherever it may be interrupted (every item or
 * every few hundred) and returns its result. The same steps run at once or in slices.
 */
export type Steps<R> = Generator<void, R>;

/** Runs `steps` to the end in the current tick. */
export function runAtOnce<R>(steps: Steps<R>): R {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/** Runs `steps` to the end, giving the event loop a turn whenever `slicer`'s slice is used up. */
export async function runSliced<R>(steps: Steps<R>, slicer: TimeSlicer): Promise<R> {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (slicer.due()) await slicer.pause();
  }
}

/** One read a watcher may make now, as its scheduler decided. */
export interface ReadTurn {
  /** True: a blocking query (the watcher holds a slot); false: one non-blocking read. */
  readonly blocking: boolean;
  /** Aborts a blocking query when the slot is taken away; undefined for reads that keep none. */
  readonly slotLost: AbortSignal | undefined;
  /**
   * Gives the turn back once the read has ended (frees its share of the read rate). Idempotent.
   * `'failed'`: the read brought no answer, so the service stays due for the next turn (which
   * the watcher asks for after its backoff) instead of waiting for a check change or a refresh.
   */
  done(result?: 'read' | 'failed'): void;
}

/** How a watcher learns when, and how, to read next: its place in a WatchScheduler. */
export interface WatchTicket {
  /**
   * Resolves when the watcher may read: at once while it holds a blocking slot, else when its
   * service changed (or is due a refresh) and the read rate allows. Rejects when `signal` aborts.
   */
  nextTurn(signal: AbortSignal): Promise<ReadTurn>;
  /** The watcher stopped: its slot or place in the read queue is freed. Idempotent. */
  release(): void;
}

const BLOCKING_TURN: ReadTurn = Object.freeze({
  blocking: true,
  slotLost: undefined,
  done: () => {},
});

/** The ticket of a watcher without a scheduler: always a blocking query, never taken away. */
export const ALWAYS_BLOCKING: WatchTicket = Object.freeze({
  nextTurn: () => Promise.resolve(BLOCKING_TURN),
  release: () => {},
});

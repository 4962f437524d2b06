import { Counter } from 'prom-client';
import type { LabelValues, Registry } from 'prom-client';

/** A counter child the request path increments. */
export interface CountingChild {
  inc(): void;
}

interface LabelledChild<L extends string> extends CountingChild {
  readonly labels: LabelValues<L>;
}

class PendingChild<L extends string> implements LabelledChild<L> {
  pending = 0;

  constructor(readonly labels: LabelValues<L>) {}

  inc(): void {
    this.pending += 1;
  }
}

/**
 * A prom-client Counter whose children count in plain numbers that reach the counter when it is
 * collected (each scrape, each `get()`). prom-client hashes the label set on every `inc()`, which
 * for the per-call counters cost more than the rest of a call's bookkeeping together; here that
 * happens once per child per scrape, and values read through the registry are always current.
 */
export class DeferredCounter<L extends string> {
  readonly counter: Counter<L>;
  private readonly pending = new Set<PendingChild<L>>();
  /** False when the counter was made elsewhere (another copy of this library): no hook of ours. */
  private readonly deferred: boolean;

  /** Creates the counter in `registry`, or adopts the one of that name already there. */
  constructor(registry: Registry, name: string, help: string, labelNames: L[]) {
    const pending = this.pending;
    const existing = registry.getSingleMetric(name) as Counter<L> | undefined;
    this.deferred = existing === undefined;
    this.counter =
      existing ??
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          for (const child of pending) {
            if (child.pending === 0) continue;
            this.inc(child.labels, child.pending);
            child.pending = 0;
          }
        },
      });
  }

  /** The child for `labels`. */
  child(labels: LabelValues<L>): CountingChild {
    if (!this.deferred) {
      const counter = this.counter;
      return { labels, inc: () => counter.inc(labels) } as LabelledChild<L>;
    }
    const child = new PendingChild(labels);
    this.pending.add(child);
    return child;
  }

  /** Drops a child made by {@link child} and removes its series. */
  remove(child: CountingChild): void {
    const labelled = child as LabelledChild<L>;
    this.pending.delete(labelled as PendingChild<L>);
    this.counter.remove(labelled.labels);
  }
}

import type { LabelValues, Metric, Registry } from 'prom-client';

/** A histogram child the request path observes into. */
export interface ObservingChild {
  observe(value: number): void;
}

class HistogramChild<L extends string> implements ObservingChild {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelValues<L>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i += 1;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface Sample {
  readonly metricName: string;
  readonly labels: Partial<Record<string, string | number>>;
  readonly value: number;
}

/**
 * A Prometheus histogram registered in a prom-client registry as a metric of its own, whose
 * children count in typed arrays: prom-client's `observe()` validates, copies and hashes the label
 * set and allocates a closure on every call, which on the request path costs more than the rest of
 * a call's bookkeeping. The exposition is prom-client's: `_bucket` (cumulative, `le`, `+Inf`),
 * `_sum`, `_count`, for every child observed at least once.
 */
export class DeferredHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children = new Set<HistogramChild<L>>();

  private constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  /**
   * The histogram `name` of `registry`, registered on first use; one made by another copy of this
   * library in the process (ESM beside CommonJS) is shared rather than refused.
   */
  static in<L extends string>(
    registry: Registry,
    name: string,
    help: string,
    buckets: readonly number[],
  ): DeferredHistogram<L> {
    const existing = registry.getSingleMetric(name) as unknown;
    if (existing !== undefined && typeof (existing as DeferredHistogram<L>).child === 'function') {
      return existing as DeferredHistogram<L>;
    }
    const histogram = new DeferredHistogram<L>(name, help, buckets);
    // A metric of that name made by the caller is a conflict prom-client reports itself.
    registry.registerMetric(histogram as unknown as Metric);
    return histogram;
  }

  /** The child for `labels`: an observation is a bucket search and three additions. */
  child(labels: LabelValues<L>): ObservingChild {
    const child = new HistogramChild(labels, this.buckets);
    this.children.add(child);
    return child;
  }

  /** Drops a child made by {@link child}: its series leave the exposition. */
  remove(child: ObservingChild): void {
    this.children.delete(child as HistogramChild<L>);
  }

  /** What prom-client's registry reads at each scrape. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
  }> {
    const values: Sample[] = [];
    for (const child of this.children) {
      if (child.count === 0) continue;
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...child.labels, le: bound },
          value: cumulative,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...child.labels, le: '+Inf' },
        value: child.count,
      });
      values.push({
        metricName: `${this.name}_sum`,
        labels: { ...child.labels },
        value: child.sum,
      });
      values.push({
        metricName: `${this.name}_count`,
        labels: { ...child.labels },
        value: child.count,
      });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** prom-client's `registry.resetMetrics()`: every child back to zero. */
  reset(): void {
    for (const child of this.children) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}

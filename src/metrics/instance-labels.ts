/** The `instance` label value shared by the instances beyond the per-service limit. */
export const OTHER_INSTANCE = 'other';

/** Default limit of live `instance` label values per service. */
export const MAX_INSTANCE_LABELS = 50;

interface Holder {
  readonly label: string;
  /** True when the label is the instance's own, false when it is `other`. */
  readonly own: boolean;
  shares: number;
}

/**
 * The `instance` label values of one service, bounded: instance ids are random per process, so
 * every rolling restart brings new ones, and unbounded labels would grow the series without end.
 * The first `limit` live instances get their own identity as label; the ones beyond share
 * `other` for as long as they live. An instance's slot is freed when its last holder releases it
 * (several clients in one process may follow the same instance), and goes to the next newcomer.
 */
export class InstanceLabels {
  private readonly holders = new Map<string, Holder>();
  private named = 0;

  /** `limit`: live label values of their own, at most; the rest share `other`. Default: 50. */
  constructor(private readonly limit = MAX_INSTANCE_LABELS) {}

  /** Takes a share of `identity`'s label and returns the label value to use for it. */
  acquire(identity: string): string {
    const held = this.holders.get(identity);
    if (held) {
      held.shares += 1;
      return held.label;
    }
    const own = this.named < this.limit;
    if (own) this.named += 1;
    const label = own ? identity : OTHER_INSTANCE;
    this.holders.set(identity, { label, own, shares: 1 });
    return label;
  }

  /**
   * Gives back one share of `identity`'s label. Returns the label value when its series should go
   * (the last share of an instance with a label of its own), else undefined: `other` stays, since
   * other overflowing instances may still count in it.
   */
  release(identity: string): string | undefined {
    const held = this.holders.get(identity);
    if (!held) return undefined;
    held.shares -= 1;
    if (held.shares > 0) return undefined;
    this.holders.delete(identity);
    if (!held.own) return undefined;
    this.named -= 1;
    return held.label;
  }

  /** Live label values of their own (not `other`). */
  get size(): number {
    return this.named;
  }
}

// Calls per discovery-chain target (`client_target_requests_total{service,target}`), bounded.
// Target ids come from Consul (`v1.web.default.default.dc1`): whoever writes config entries chooses
// them, and every subset, redirect or failover adds one. So a service has at most `limit` target
// label values of its own at a time (the rest share `other`), a value must look like a target id
// (Consul's name characters and dots, at most 160 of them; anything else counts as `other`), and a
// target's series goes when it leaves the chain, so a chain rewritten all day keeps a small set.
import type { DiscoveryChain } from '../traffic/discovery-chain';
import type { TargetTable } from '../traffic/traffic-plan';
import { CountedTrafficPlan } from './counted-traffic-plan';
import type { CountingChild, DeferredCounter } from './deferred-counter';

/** The `target` label value shared by targets beyond the per-service limit or with odd ids. */
export const OTHER_TARGET = 'other';

/** Default limit of live `target` label values per called service. */
export const MAX_TARGET_LABELS = 16;

/** What a target id must look like to be a label value of its own. */
const TARGET_LABEL = /^[A-Za-z0-9_.-]{1,160}$/;

interface Slot {
  readonly label: string;
  readonly child: CountingChild;
  shares: number;
}

/**
 * The target series of one called service in one registry, shared by every chain of that
 * service in the process (two Discovery objects may follow the same chain), so the bound holds
 * for all of them. A target's slot is taken by the first chain that routes to it and freed by
 * the last one that stops.
 */
export class TargetSeries {
  private readonly slots = new Map<string, Slot>();
  private named = 0;
  /** Targets counting under `other` now; its series goes with the last of them. */
  private others = 0;
  private otherChild: CountingChild | undefined;

  constructor(
    private readonly counter: DeferredCounter<'service' | 'target'>,
    private readonly service: string,
    private readonly limit = MAX_TARGET_LABELS,
    /** Called when no chain holds a target of the service any more. */
    private readonly onEmpty: (series: TargetSeries) => void = () => undefined,
  ) {}

  /** Takes a share of target `id`'s label and returns the child to count its calls on. */
  acquire(id: string): CountingChild {
    const held = this.slots.get(id);
    if (held) {
      held.shares += 1;
      return held.child;
    }
    const own = this.named < this.limit && TARGET_LABEL.test(id);
    let child: CountingChild;
    if (own) {
      this.named += 1;
      child = this.counter.child({ service: this.service, target: id });
    } else {
      this.others += 1;
      child = this.otherChild ??= this.counter.child({
        service: this.service,
        target: OTHER_TARGET,
      });
    }
    this.slots.set(id, { label: own ? id : OTHER_TARGET, child, shares: 1 });
    return child;
  }

  /** Gives back a share of `id`'s label; the last one removes its series and frees its slot. */
  release(id: string): void {
    const held = this.slots.get(id);
    if (!held) return;
    held.shares -= 1;
    if (held.shares > 0) return;
    this.slots.delete(id);
    if (held.label !== OTHER_TARGET) {
      this.named -= 1;
      this.counter.remove(held.child);
    } else {
      this.others -= 1;
      if (this.others === 0 && this.otherChild !== undefined) {
        this.counter.remove(this.otherChild);
        this.otherChild = undefined;
      }
    }
    if (this.slots.size === 0) this.onEmpty(this);
  }
}

/**
 * The target counters of one chain (one `ChainRouting`): `follow()` with the targets of each new
 * chain takes the new targets' shares and gives back those of targets gone, `close()` gives back
 * all. Counting is a map read and a number increment; prom-client sees it at scrape time.
 */
export class ChainTargetMetrics {
  private held = new Map<string, CountingChild>();
  private closed = false;

  constructor(private readonly series: () => TargetSeries) {}

  /** Follows the chain's targets now; returns the child of each, by target id. */
  follow(ids: Iterable<string>): ReadonlyMap<string, CountingChild> {
    if (this.closed) return new Map();
    const wanted = new Set(ids);
    // Targets gone first: their slots are free for the newcomers of the same change.
    const leaving = this.series();
    for (const id of this.held.keys()) if (!wanted.has(id)) leaving.release(id);
    const series = this.series();
    const next = new Map<string, CountingChild>();
    for (const id of wanted) next.set(id, this.held.get(id) ?? series.acquire(id));
    this.held = next;
    return next;
  }

  /** The plan of a new chain over `tables` (one per target routed to), counting its choices. */
  plan<T extends TargetTable>(
    chain: DiscoveryChain,
    tables: ReadonlyMap<string, T>,
  ): CountedTrafficPlan<T> {
    return new CountedTrafficPlan(chain, tables, this.follow(tables.keys()));
  }

  /** Gives back every target: their series go unless another chain still routes to them. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const series = this.series();
    for (const id of this.held.keys()) series.release(id);
    this.held = new Map();
  }
}

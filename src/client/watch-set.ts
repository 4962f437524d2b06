/**
 * How a service stays in the watch set: `configured` (named in `discovery.services`: never
 * released, not counted against the cap, since the app's own configuration bounds them), `pinned`
 * (handed out by `service(name)`: the caller holds the client, so it is never released, but it
 * counts against the cap) or `on-demand` (used through `fetch()`: released once idle, and the
 * first to make room at the cap).
 */
export type Residency = 'configured' | 'pinned' | 'on-demand';

/** One service in the set, with what eviction reads: last use and calls in flight. */
export interface WatchSlot<T> {
  readonly key: string;
  readonly value: T;
  residency: Residency;
  /** Calls begun and not yet settled. */
  inFlight: number;
  /** When a call last began or settled, in the set's clock (ms). */
  lastUsedMs: number;
}

/** Limits of a {@link WatchSet}. */
export interface WatchSetLimits {
  /** Most counted (not `configured`) services at once. */
  readonly maxServices: number;
  /** Idle time after which an `on-demand` service goes, in ms; 0: never. */
  readonly idleTimeoutMs: number;
  /** The clock, in ms (monotonic). */
  readonly now: () => number;
}

/** What `makeRoom()` found: room already, room once `evict` is released, or none. */
export type Room<T> =
  | { readonly kind: 'free' }
  | { readonly kind: 'evict'; readonly slot: WatchSlot<T> }
  | { readonly kind: 'full' };

const FREE = { kind: 'free' } as const;
const FULL = { kind: 'full' } as const;

/**
 * The bounded set of watched services: a last-used stamp and an in-flight count per service
 * (two stores per call), the idle ones found by one sweep, and the least recently used idle one
 * chosen to make room at the cap. Pure: the clock is injected, nothing here starts a timer or
 * releases anything; the owner does both.
 */
export class WatchSet<T> {
  private readonly slots = new Map<string, WatchSlot<T>>();
  private counted = 0;

  constructor(private readonly limits: WatchSetLimits) {}

  /** Services in the set. */
  get size(): number {
    return this.slots.size;
  }

  /** Services counted against `maxServices` (all but `configured` ones). */
  get countedSize(): number {
    return this.counted;
  }

  /** True when some service may be released for idleness (the sweep has work to watch for). */
  get hasReleasable(): boolean {
    if (this.limits.idleTimeoutMs === 0) return false;
    for (const slot of this.slots.values()) if (slot.residency === 'on-demand') return true;
    return false;
  }

  get(key: string): WatchSlot<T> | undefined {
    return this.slots.get(key);
  }

  values(): IterableIterator<WatchSlot<T>> {
    return this.slots.values();
  }

  /**
   * Whether one more counted service fits: at the cap, the `on-demand` service with no call in
   * flight that was used least recently is named for eviction; when every counted service is
   * pinned or busy, there is no room.
   */
  makeRoom(): Room<T> {
    if (this.counted < this.limits.maxServices) return FREE;
    let oldest: WatchSlot<T> | undefined;
    for (const slot of this.slots.values()) {
      if (slot.residency !== 'on-demand' || slot.inFlight > 0) continue;
      if (oldest === undefined || slot.lastUsedMs < oldest.lastUsedMs) oldest = slot;
    }
    return oldest === undefined ? FULL : { kind: 'evict', slot: oldest };
  }

  /** Adds `value` under `key` (the caller made room first for a counted one). */
  add(key: string, value: T, residency: Residency): WatchSlot<T> {
    const slot: WatchSlot<T> = {
      key,
      value,
      residency,
      inFlight: 0,
      lastUsedMs: this.limits.now(),
    };
    this.slots.set(key, slot);
    if (residency !== 'configured') this.counted += 1;
    return slot;
  }

  /** Keeps `slot` for good (its client was handed to a caller); configured ones stay configured. */
  pin(slot: WatchSlot<T>): void {
    if (slot.residency === 'on-demand') slot.residency = 'pinned';
  }

  /** A call on `slot` begins. */
  begin(slot: WatchSlot<T>): void {
    slot.inFlight += 1;
    slot.lastUsedMs = this.limits.now();
  }

  /** A call on `slot` settled (resolved or threw). */
  end(slot: WatchSlot<T>): void {
    slot.inFlight -= 1;
    slot.lastUsedMs = this.limits.now();
  }

  /** The `on-demand` services with no call in flight and none begun or settled for `idleTimeoutMs`. */
  idle(): WatchSlot<T>[] {
    const { idleTimeoutMs, now } = this.limits;
    if (idleTimeoutMs === 0) return [];
    const cutoff = now() - idleTimeoutMs;
    const found: WatchSlot<T>[] = [];
    for (const slot of this.slots.values()) {
      if (slot.residency === 'on-demand' && slot.inFlight === 0 && slot.lastUsedMs <= cutoff) {
        found.push(slot);
      }
    }
    return found;
  }

  /** Removes `slot` (when it is still the one under its key). */
  delete(slot: WatchSlot<T>): void {
    if (this.slots.get(slot.key) !== slot) return;
    this.slots.delete(slot.key);
    if (slot.residency !== 'configured') this.counted -= 1;
  }

  /** Removes every slot. */
  clear(): void {
    this.slots.clear();
    this.counted = 0;
  }
}

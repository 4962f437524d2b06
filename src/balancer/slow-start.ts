import type { ServiceInstance } from '../watch/service-instance';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { NumberRule } from '../config/option-reader';

/** Options of {@link SlowStart}. */
export interface SlowStartOptions {
  /** Length of the ramp in ms, > 0. */
  readonly windowMs: number;
  /** Factor of a just-seen instance, in (0, 1]. Default: 0.1 (a tenth of its full share). */
  readonly floor?: number;
}

/** A floor of 0 would give a newcomer no share at all, and so no chance to warm up. */
const FLOOR_RULE: NumberRule = { min: 0, minExclusive: true, max: 1 };

/**
 * Remembers when each instance id was first seen and gives the factor, rising linearly from
 * `floor` to 1 over `windowMs`, by which a balancer scales that instance's share. A newcomer's
 * caches and JIT are cold; the ramp keeps its first seconds from being a full share of traffic.
 */
export class SlowStart {
  readonly windowMs: number;
  readonly floor: number;
  private firstSeen = new Map<string, number>();
  private rampEndsAt = -Infinity;
  private seenAny = false;

  /** Validates `options`; ConfigErrors name `${path}.windowMs` and `${path}.floor`. */
  constructor(options: SlowStartOptions, path = 'slowStart') {
    const reader = OptionReader.lenient<SlowStartOptions>(options, path);
    this.windowMs =
      reader.ms('windowMs', { min: 0, minExclusive: true }) ??
      reader.fail('windowMs', 'a duration in ms > 0');
    this.floor = reader.number(
      'floor',
      FLOOR_RULE,
      DEFAULTS.discovery.client.balancerOptions.slowStartFloor,
    );
  }

  /**
   * The ramp a balancer's `slowStartMs`/`slowStartFloor` options ask for, read from `reader`
   * (errors name `<path>.slowStartMs`); undefined when off (0).
   */
  static fromBalancerOptions(
    reader: OptionReader<{ readonly slowStartMs?: number; readonly slowStartFloor?: number }>,
  ): SlowStart | undefined {
    const defaults = DEFAULTS.discovery.client.balancerOptions;
    const windowMs = reader.ms('slowStartMs', { min: 0 }, defaults.slowStartMs);
    const floor = reader.number('slowStartFloor', FLOOR_RULE, defaults.slowStartFloor);
    if (windowMs === 0) return undefined;
    return new SlowStart({ windowMs, floor });
  }

  /**
   * Records the current instance set at time `now` (ms). Instances of the first non-empty set
   * count as warm: a client starting up says nothing about how long its servers have run. An id
   * that disappears is forgotten, so if it comes back (restarted, or back from critical) it
   * ramps again.
   */
  observe(instances: readonly ServiceInstance[], now: number): void {
    const warm = !this.seenAny;
    if (instances.length > 0) this.seenAny = true;
    const next = new Map<string, number>();
    let rampEndsAt = -Infinity;
    for (const { id } of instances) {
      const seen = this.firstSeen.get(id) ?? next.get(id) ?? (warm ? -Infinity : now);
      next.set(id, seen);
      if (seen + this.windowMs > rampEndsAt) rampEndsAt = seen + this.windowMs;
    }
    this.firstSeen = next;
    this.rampEndsAt = rampEndsAt;
  }

  /** Share factor of `id` at time `now`: `floor` when just seen, 1 after `windowMs` or if unknown. */
  factor(id: string, now: number): number {
    const seen = this.firstSeen.get(id);
    if (seen === undefined) return 1;
    const elapsed = now - seen;
    if (elapsed >= this.windowMs) return 1;
    if (elapsed <= 0) return this.floor;
    return this.floor + ((1 - this.floor) * elapsed) / this.windowMs;
  }

  /** True while some known instance is still ramping at `now`; false lets callers skip `factor`. */
  isRamping(now: number): boolean {
    return now < this.rampEndsAt;
  }
}

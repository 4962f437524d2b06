import type { ServiceInstance } from '../watch/service-instance';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import { SLOW_START_FLOOR_RULE, type ResolvedSlowStart } from './balancer-options';

/** Options of {@link SlowStart}. */
export interface SlowStartOptions {
  /** Length of the ramp in ms, > 0. */
  readonly windowMs: number;
  /** Factor of a just-seen instance, in (0, 1]. Default: 0.1 (a tenth of its full share). */
  readonly floor?: number;
}

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

  /** Takes a ramp already validated (balancer-options.ts); `from` reads raw options. */
  constructor(settings: ResolvedSlowStart) {
    this.windowMs = settings.windowMs;
    this.floor = settings.floor;
  }

  /** Validates `options`; ConfigErrors name `${path}.windowMs` and `${path}.floor`. */
  static from(options: SlowStartOptions, path = 'slowStart'): SlowStart {
    const reader = OptionReader.lenient<SlowStartOptions>(options, path);
    return new SlowStart({
      windowMs:
        reader.ms('windowMs', { min: 0, minExclusive: true }) ??
        reader.fail('windowMs', 'a duration in ms > 0'),
      floor: reader.number(
        'floor',
        SLOW_START_FLOOR_RULE,
        DEFAULTS.discovery.client.balancerOptions.slowStartFloor,
      ),
    });
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

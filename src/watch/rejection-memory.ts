import type { InstanceRejection } from './to-service-instance';

/**
 * Remembers the invalid entries of the last answer, so each is reported once until it changes:
 * a blocking query answers again on every change of the service, and an invalid registration
 * that stays as it is must not log (or count) again with each of them. One that leaves and
 * comes back is reported again. Holds only the last answer's rejections.
 */
export class RejectionMemory {
  /** `reason identity` → detail, for the last answer. */
  private last = new Map<string, string>();

  /** Takes an answer's rejections; returns those not in the previous answer, or changed. */
  update(rejected: readonly InstanceRejection[]): InstanceRejection[] {
    const next = new Map<string, string>();
    const fresh: InstanceRejection[] = [];
    for (const rejection of rejected) {
      const key = `${rejection.reason} ${rejection.identity}`;
      if (next.has(key)) continue;
      next.set(key, rejection.detail);
      if (this.last.get(key) !== rejection.detail) fresh.push(rejection);
    }
    this.last = next;
    return fresh;
  }
}

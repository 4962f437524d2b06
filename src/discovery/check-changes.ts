import type { HealthCheck } from '../consul/consul-types';

/** A summary of one service's checks that changes whenever any of them changes, comes or goes. */
export interface CheckSummary {
  readonly count: number;
  /** Sum of the checks' ModifyIndex: rises on any change, falls when a check goes. */
  readonly indexSum: number;
  /** Highest ModifyIndex: compared with the index of a service's last read. */
  readonly maxIndex: number;
}

/** Key of the node-level checks (serfHealth, maintenance of a node): they affect every service. */
export const NODE_CHECKS = '';

/**
 * Summaries by lower-cased service name (Consul matches names without regard to case) of an answer
 * of `/v1/health/state/any`; node checks under NODE_CHECKS.
 */
export function summarizeChecks(checks: readonly HealthCheck[]): Map<string, CheckSummary> {
  const summaries = new Map<string, { count: number; indexSum: number; maxIndex: number }>();
  for (const check of checks) {
    const key = check.ServiceName.toLowerCase();
    const modifyIndex = typeof check.ModifyIndex === 'number' ? check.ModifyIndex : 0;
    const summary = summaries.get(key);
    if (summary) {
      summary.count += 1;
      summary.indexSum += modifyIndex;
      summary.maxIndex = Math.max(summary.maxIndex, modifyIndex);
    } else {
      summaries.set(key, { count: 1, indexSum: modifyIndex, maxIndex: modifyIndex });
    }
  }
  return summaries;
}

/** Services whose summary differs between two answers (present in one only included). */
export function changedServices(
  previous: ReadonlyMap<string, CheckSummary>,
  next: ReadonlyMap<string, CheckSummary>,
): Set<string> {
  const changed = new Set<string>();
  for (const [key, summary] of next) {
    const before = previous.get(key);
    if (
      !before ||
      before.count !== summary.count ||
      before.indexSum !== summary.indexSum ||
      before.maxIndex !== summary.maxIndex
    ) {
      changed.add(key);
    }
  }
  for (const key of previous.keys()) if (!next.has(key)) changed.add(key);
  return changed;
}

import type { HealthCheck } from '../consul/consul-types';
import { runAtOnce } from '../consul/time-slicer';
import type { Steps } from '../consul/time-slicer';

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
  return runAtOnce(summarizeInSteps(checks));
}

/**
 * summarizeChecks as steps (a step every CHECKS_PER_STEP checks), to run in slices: an answer of
 * hundreds of thousands of checks (a large or a hostile cluster) took one turn of the event loop of
 * 260-510 ms for two answers of 600,000 (test/watch/watch-scheduler.hostile.test.ts).
 */
export function* summarizeInSteps(
  checks: readonly HealthCheck[],
): Steps<Map<string, CheckSummary>> {
  const summaries = new Map<string, { count: number; indexSum: number; maxIndex: number }>();
  // Names repeat (a check per instance): lower-cased once each, not once per check (the garbage of
  // 600,000 new strings cost a collector pause of its own).
  const keys = new Map<string, string>();
  for (let i = 0; i < checks.length; i++) {
    if (i % CHECKS_PER_STEP === 0 && i > 0) yield;
    const check = checks[i]!;
    let key = keys.get(check.ServiceName);
    if (key === undefined) keys.set(check.ServiceName, (key = check.ServiceName.toLowerCase()));
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

/** Checks summarized between two looks at the clock (a few microseconds of work). */
const CHECKS_PER_STEP = 256;

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

// A TrafficPlan that counts where it sends calls: one increment of the chosen target's counter
// per choice, so `client_target_requests_total` is the plan's own decision, not a guess made
// after the fact. A call whose target lost its last instance during its retries asks the plan
// again (failover mid-call) and counts once more, for the target it then went to.
import type { DiscoveryChain } from '../traffic/discovery-chain';
import type { RouteRequest } from '../traffic/route-match';
import { isTrafficMiss, TrafficPlan } from '../traffic/traffic-plan';
import type { TargetTable, TrafficChoice, TrafficMiss } from '../traffic/traffic-plan';
import type { CountingChild } from './deferred-counter';

/** A TrafficPlan whose every choice counts on the chosen target's child. */
export class CountedTrafficPlan<T extends TargetTable> extends TrafficPlan<T> {
  constructor(
    chain: DiscoveryChain,
    tables: ReadonlyMap<string, T>,
    /** The counter child of each target id (ChainTargetMetrics.follow()). */
    private readonly counts: ReadonlyMap<string, CountingChild>,
  ) {
    super(chain, tables);
  }

  override choose(request: RouteRequest, key: string | undefined): TrafficChoice<T> | TrafficMiss {
    const choice = super.choose(request, key);
    if (!isTrafficMiss(choice)) this.counts.get(choice.targetId)?.inc();
    return choice;
  }
}

import type { AttemptRequest } from './attempt';
import type { RoutingTable } from './routing-table';
import { modifyHeaders } from '../traffic/header-modifiers';
import type { HeaderModifiers } from '../traffic/header-modifiers';
import { isTrafficMiss } from '../traffic/traffic-plan';
import type { TrafficChoice, TrafficMiss, TrafficPlan } from '../traffic/traffic-plan';

/**
 * Where a call's attempts go: the routing table to pick from and what each attempt sends. For a
 * service with traffic-management entries, what the chain chose for this request; otherwise the
 * service's own table and the caller's request as it is.
 */
export interface CallDestination {
  /** The plan that chose it; undefined: the service's plain table. */
  readonly plan: TrafficPlan<RoutingTable> | undefined;
  readonly table: RoutingTable;
  /** The caller's request with the chain's path rewrite and header changes applied. */
  readonly sent: AttemptRequest;
  /** The chain's choice (route settings, target), undefined on the plain table. */
  readonly choice: TrafficChoice<RoutingTable> | undefined;
}

/** The service's own table, the request sent as the caller gave it. */
export function plainDestination(table: RoutingTable, asked: AttemptRequest): CallDestination {
  return { plan: undefined, table, sent: asked, choice: undefined };
}

/**
 * Routes the caller's request (`asked`, as toAttemptRequest made it) by `plan`: the matched
 * route, split and resolver give the table and what to send; a miss when the chain has no target
 * for it. Routes match the caller's headers; what a route or split changes is only what is sent.
 */
export function chainDestination(
  plan: TrafficPlan<RoutingTable>,
  asked: AttemptRequest,
  key: string | undefined,
  idempotencyKey: string | undefined,
): CallDestination | TrafficMiss {
  const choice = plan.choose(
    { method: asked.method, url: asked.path, headers: asked.headers },
    key,
  );
  if (isTrafficMiss(choice)) return choice;
  const headers =
    choice.requestHeaders === undefined
      ? asked.headers
      : changedHeaders(asked.headers, choice.requestHeaders, idempotencyKey);
  const sent =
    choice.path === asked.path && headers === asked.headers
      ? asked
      : { ...asked, path: choice.path, headers };
  return { plan, table: choice.table, sent, choice };
}

/**
 * The headers an attempt sends after the chain's changes. The caller's `idempotencyKey` is put
 * back last: it is what lets a POST be retried (retry-decision.ts), so a route or split that set
 * or removed it would have retries reach the instance under a key the caller never gave (distinct
 * calls taken as one, or a retry unprotected).
 */
function changedHeaders(
  callerHeaders: AttemptRequest['headers'],
  modifiers: readonly HeaderModifiers[],
  idempotencyKey: string | undefined,
): Record<string, string | string[]> {
  const headers = modifyHeaders(callerHeaders, modifiers);
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  return headers;
}

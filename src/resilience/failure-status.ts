/**
 * True for a 5xx answer: the server failed, whoever asked. It counts as the instance's failure
 * everywhere an outcome of a call is judged (outlier detection, the least-request cost, the
 * attempt and request metrics) and as Consul being unavailable to the Consul client. A 4xx is the
 * caller's problem, not the server's. Here, below both, so the two read the one rule.
 */
export function isFailureStatus(status: number): boolean {
  return status >= 500;
}

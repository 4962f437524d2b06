/** What the tests read of `/v1/health/service/NAME`. */
export interface HealthEntry {
  readonly Node: { readonly Node: string; readonly Address: string };
  readonly Service: { readonly ID: string; readonly Address: string; readonly Port: number };
  readonly Checks: readonly {
    readonly Type: string;
    readonly Status: string;
    readonly Output: string;
  }[];
}

/** The passing instances of `service`, as the agent at `consulAddress` lists them. */
export async function passingEntries(
  consulAddress: string,
  service: string,
): Promise<HealthEntry[]> {
  const response = await fetch(`${consulAddress}/v1/health/service/${service}?passing=true`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET health of ${service} -> ${response.status}`);
  return (await response.json()) as HealthEntry[];
}

/** The address a caller dials for an entry: the service's own, or its node's when empty (Consul's rule). */
export const dialedAddress = (entry: HealthEntry): string =>
  entry.Service.Address || entry.Node.Address;

/** One healthy (or warning) instance of a service, as the watcher last saw it in Consul. */
export interface ServiceInstance {
  /**
   * The instance's identity in its datacenter, `NODE/SERVICE_ID` (see {@link instanceIdentity}):
   * the one key every stateful part uses (balancers, exclude sets, outlier detection, slow start,
   * pools, metrics). Consul makes service ids unique per agent only: `payments` on two nodes are
   * two instances.
   */
  readonly id: string;
  /** Consul's service ID, as registered (unique within its agent only). */
  readonly serviceId: string;
  /** Logical service name. */
  readonly service: string;
  /** Consul node the instance is registered on. */
  readonly node: string;
  /** Address to dial: the service's own address, or its node's when the service gave none. */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** Aggregate of the instance's checks (critical instances are never listed). */
  readonly status: 'passing' | 'warning';
  /** Consul's `Weights.Passing` or `Weights.Warning`, by `status`; 0 means "send nothing". */
  readonly weight: number;
}

/** The identity of service `serviceId` on `node`; computed once per instance, when it is parsed. */
export function instanceIdentity(node: string, serviceId: string): string {
  return `${node}/${serviceId}`;
}

/** `address:port`, bracketing IPv6 addresses; the key balancers and pools use for an instance. */
export function instanceAuthority(instance: Pick<ServiceInstance, 'address' | 'port'>): string {
  return instance.address.includes(':')
    ? `[${instance.address}]:${instance.port}`
    : `${instance.address}:${instance.port}`;
}

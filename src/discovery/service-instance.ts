/** One healthy (or warning) instance of a service, as the watcher last saw it in Consul. */
export interface ServiceInstance {
  /** Consul's service ID: unique per instance within an agent. */
  readonly id: string;
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

/** `address:port`, bracketing IPv6 addresses; the key balancers and pools use for an instance. */
export function instanceAuthority(instance: Pick<ServiceInstance, 'address' | 'port'>): string {
  return instance.address.includes(':')
    ? `[${instance.address}]:${instance.port}`
    : `${instance.address}:${instance.port}`;
}

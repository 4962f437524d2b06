/** One healthy (or warning) instance of a service, as the watcher last saw it in Consul. */
export interface ServiceInstance {
  /**
   * The instance's identity in its datacenter, `NODE/SERVICE_ID` with `%`, `/`, spaces, controls
   * and non-ASCII characters of each part percent-escaped (see {@link instanceIdentity}):
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

// Printable ASCII except the two characters the encoding itself gives meaning to.
const PLAIN = /^[\x21-\x24\x26-\x2e\x30-\x7e]*$/;
const ESCAPED = /[^\x21-\x24\x26-\x2e\x30-\x7e]/gu;

function escapeChar(char: string): string {
  // A lone surrogate has no UTF-8 form (encodeURIComponent throws); `%u` never comes out of the
  // UTF-8 escapes (`u` is not a hex digit), so this stays unambiguous.
  const code = char.charCodeAt(0);
  if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) {
    return `%u${code.toString(16).toUpperCase()}`;
  }
  return encodeURIComponent(char);
}

function escapePart(part: string): string {
  return PLAIN.test(part) ? part : part.replace(ESCAPED, escapeChar);
}

/**
 * The identity of service `serviceId` on `node`, `NODE/SERVICE_ID`; computed once per instance,
 * when it is parsed. In each part `%`, `/`, spaces, control and non-ASCII characters are
 * percent-escaped (UTF-8), so the one unescaped `/` separates node from id: service `a/b` on node
 * `vm` (`vm/a%2Fb`) and service `b` on node `vm/a` (`vm%2Fa/b`) stay two instances, and the
 * identity is safe in a header (`x-served-by`), a log line and a metric label. Ordinary names
 * (`node-1/web-1`) read unchanged.
 */
export function instanceIdentity(node: string, serviceId: string): string {
  return `${escapePart(node)}/${escapePart(serviceId)}`;
}

/** `address:port`, bracketing IPv6 addresses; the key balancers and pools use for an instance. */
export function instanceAuthority(instance: Pick<ServiceInstance, 'address' | 'port'>): string {
  return instance.address.includes(':')
    ? `[${instance.address}]:${instance.port}`
    : `${instance.address}:${instance.port}`;
}

/** Characters Consul's DNS interface can serve in a service name (RFC 1123 labels). */
const DNS_SAFE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** True when `name` can be looked up as `NAME.service.consul`. */
export function isDnsSafeServiceName(name: string): boolean {
  return DNS_SAFE.test(name);
}

/** The closest DNS-safe spelling of `name` (underscores and other symbols become dashes). */
export function dnsSafeServiceName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

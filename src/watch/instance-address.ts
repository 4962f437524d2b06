import { isIPv4, isIPv6 } from 'node:net';

/** Longest DNS name, in characters (RFC 1035, without the trailing dot). */
const MAX_HOSTNAME_CHARS = 253;

/** One DNS label per RFC 1123: letters, digits and inner hyphens, 1 to 63 characters. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A last label the WHATWG URL parser reads as an IPv4 number (`1.2.3`, `0x7f`, `010.0.0.1`): it
 * would dial an address other than the one written, so such names are refused.
 */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;

/**
 * The address to dial for a Consul `Address`, in the form the URL parser writes it (IPv6 in its
 * canonical compressed form, hostnames lower-cased), or undefined when it is not one.
 *
 * Accepted: an IPv4 literal in dotted-quad form, an IPv6 literal without brackets or zone id, or
 * a DNS hostname per RFC 1123 (ASCII labels of letters, digits and inner hyphens, at most 63
 * characters each and 253 in all, an optional trailing dot; the last label not numeric).
 * Anything else is refused: a port, a path, a query, userinfo, brackets, a zone id, whitespace,
 * control or non-ASCII characters. Registrations are written by anyone with `service:write` on
 * some name, so an address is never repaired, only accepted or refused.
 */
export function readInstanceAddress(address: string): string | undefined {
  if (isIPv4(address)) return address;
  // Zone ids (`fe80::1%eth0`) are not allowed in URLs, and brackets belong to the authority.
  if (!address.includes('%') && isIPv6(address)) {
    // The URL parser compresses and lower-cases; dial exactly what it will show.
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  }
  const name = (address.endsWith('.') ? address.slice(0, -1) : address).toLowerCase();
  if (name.length === 0 || name.length > MAX_HOSTNAME_CHARS) return undefined;
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return undefined;
  return address.toLowerCase();
}

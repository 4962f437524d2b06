/** Longest string shown in an error message, in characters; longer ones are cut with `…`. */
const MAX_SHOWN_CHARS = 40;

/**
 * Options whose last path segment matches this may hold credentials or key material (`token`,
 * `tls.key`, `tls.cert`, `tls.ca`, `password`, ...): their values are described by type only.
 */
const SECRET_SEGMENT = /(token|key|cert|ca|secret|password|passphrase|pfx|credentials?)$/i;

/** True when the option at `path` may hold a secret, judged by its last segment. */
export function isSecretPath(path: string): boolean {
  const last = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  return SECRET_SEGMENT.test(last);
}

/**
 * A short, safe rendering of an option value for an error message: strings quoted and cut to
 * 40 characters, objects and functions by kind only (never their contents), and with `secret` any
 * value by type only, so a token can never reach a log through a ConfigError.
 */
export function describeValue(value: unknown, secret = false): string {
  if (value === undefined || value === null) return String(value);
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  switch (typeof value) {
    case 'string':
      if (secret) return value === '' ? 'an empty string' : 'a string';
      return value.length > MAX_SHOWN_CHARS
        ? `${JSON.stringify(value.slice(0, MAX_SHOWN_CHARS))}… (${value.length} characters)`
        : JSON.stringify(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return secret ? `a ${typeof value}` : String(value);
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const name = value.constructor?.name;
      return name && name !== 'Object' ? `a ${name}` : 'an object';
    }
  }
}

import { inspect } from 'node:util';

const REDACTED = 'ConsulToken [redacted]';

/**
 * Holds a Consul ACL token so that no way of printing what holds it shows it: the value lives in
 * a `#private` field (which `util.inspect`, even with `showHidden`, and `JSON.stringify` never
 * read), and the holder prints, serialises and converts to a string as `[redacted]`. Only
 * {@link ConsulToken.reveal} gives the value, for the `X-Consul-Token` header.
 */
export class ConsulToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The token itself; for the `X-Consul-Token` header only. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

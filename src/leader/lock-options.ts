import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { KV_KEY_RULE } from '../kv/kv-key';

/** Options of `consul.lock(key, options)`. */
export interface LockOptions {
  /**
   * Consul's LockDelay, in ms (1000 to 60000): after the session is invalidated (check critical,
   * node gone) nobody may take the lock for this long. It is also how long a holder that cannot
   * reach Consul keeps believing it holds the lock (a little less), so it cannot be 0. Default: 15000.
   */
  readonly lockDelayMs?: number;
}

/** Validated lock options plus what the adapter supplies (session checks, names). */
export interface ResolvedLockOptions {
  readonly key: string;
  readonly lockDelayMs: number;
  /** Session name shown in Consul's UI. */
  readonly sessionName: string;
  /** Checks the session is bound to: node checks (`serfHealth`) and this service's check. */
  readonly nodeChecks: readonly string[];
  readonly serviceChecks: readonly string[];
  /** Written as the key's value while held (JSON): who holds it. */
  readonly holder: Readonly<Record<string, string>>;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
}

export const LOCK_KEYS: KnownKeys<LockOptions> = { lockDelayMs: true };

/** Validates a lock's key and options once (`path` names them in errors). */
export function readLockOptions(
  key: unknown,
  options: unknown,
  path: string,
): { key: string; lockDelayMs: number } {
  const top = OptionReader.lenient<{ key: unknown }>({ key }, path);
  const checkedKey: string =
    top.string('key', KV_KEY_RULE) ?? top.fail('key', KV_KEY_RULE.rule ?? 'a Consul KV key');
  const reader = OptionReader.strict<LockOptions>(options, path, LOCK_KEYS);
  return {
    key: checkedKey,
    lockDelayMs: reader.ms('lockDelayMs', { min: 1_000, max: 60_000 }, DEFAULTS.leader.lockDelayMs),
  };
}

/** Consul's duration syntax for whole ms. */
export function goMs(ms: number): string {
  return `${Math.round(ms)}ms`;
}

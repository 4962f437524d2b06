import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { KV_KEY_RULE } from './kv-key';
import { ConfigError } from '../errors';
import type { ConfigFormat } from './parse-config';
import { isStandardSchema } from './standard-schema';
import type { StandardSchemaV1 } from './standard-schema';

/** Options of `consul.config(key, options)` and `createConfig(key, options)`. */
export interface ConsulConfigOptions<T = unknown> {
  /** A Standard Schema (zod, valibot, arktype, ...) every value must pass; it may transform it. Default: none (the raw parsed value). */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** `json` or `yaml`: one document under the key; `tree`: the keys under the prefix as an object. Default: `json`. */
  readonly format?: ConfigFormat;
  /** Used when Consul has no value by the end of `readyTimeoutMs` (or the key does not exist). Default: none (ready() rejects). */
  readonly defaultValue?: T;
  /** Longest wait of `ready()` for a first good value, in ms. Default: 5000. */
  readonly readyTimeoutMs?: number;
  /** Longest block of one query, in ms. Default: 60000. */
  readonly waitMs?: number;
  /** Backoff after failed queries, in ms. Default: base 250, max 10000. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Least time between two queries in a burst of changes, in ms. Default: 100. */
  readonly minUpdateIntervalMs?: number;
  /** Let any server answer (Consul's `stale`), to stay up while servers elect a leader. Default: false. */
  readonly stale?: boolean;
  /** Closes the watch when it aborts. */
  readonly signal?: AbortSignal;
}

/** Validated options of one configuration watch. */
export interface ResolvedConsulConfigOptions<T> {
  readonly key: string;
  readonly schema: StandardSchemaV1<unknown, T> | undefined;
  readonly format: ConfigFormat;
  readonly hasDefault: boolean;
  readonly defaultValue: T | undefined;
  readonly readyTimeoutMs: number;
  readonly waitMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly minUpdateIntervalMs: number;
  readonly stale: boolean;
  readonly signal: AbortSignal | undefined;
}

export const CONFIG_KEYS: KnownKeys<ConsulConfigOptions> = {
  schema: true,
  format: true,
  defaultValue: true,
  readyTimeoutMs: true,
  waitMs: true,
  backoff: true,
  minUpdateIntervalMs: true,
  stale: true,
  signal: true,
};

/** Validates the key and options of a configuration watch once, naming the option path in errors. */
export function resolveConsulConfigOptions<T>(
  key: unknown,
  options: ConsulConfigOptions<T> | undefined,
  path = 'config',
): ResolvedConsulConfigOptions<T> {
  const top = OptionReader.lenient<{ key: unknown }>({ key }, path);
  const checkedKey: string =
    top.string('key', KV_KEY_RULE) ?? top.fail('key', KV_KEY_RULE.rule ?? 'a Consul KV key');
  const reader = OptionReader.strict<ConsulConfigOptions<T>>(options, path, CONFIG_KEYS);
  const defaults = DEFAULTS.kvConfig;
  const schema = reader.raw('schema');
  if (schema !== undefined && !isStandardSchema(schema)) {
    reader.fail('schema', "a Standard Schema (an object with ['~standard'].validate)");
  }
  const format = reader.oneOf('format', ['json', 'yaml', 'tree'] as const, defaults.format);
  const backoff = reader.section('backoff', { baseMs: true, maxMs: true });
  const [baseMs, maxMs] = backoff.msPair('baseMs', 'maxMs', { min: 1 }, [
    defaults.backoff.baseMs,
    defaults.backoff.maxMs,
  ]);
  const signal = reader.raw('signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ConfigError(reader.pathOf('signal'), 'an AbortSignal', signal);
  }
  return {
    key: checkedKey,
    schema: schema as StandardSchemaV1<unknown, T> | undefined,
    format,
    hasDefault: reader.has('defaultValue'),
    defaultValue: reader.raw('defaultValue') as T | undefined,
    readyTimeoutMs: reader.ms('readyTimeoutMs', { min: 1 }, defaults.readyTimeoutMs),
    waitMs: reader.ms('waitMs', { min: 1_000, max: 600_000 }, defaults.waitMs),
    backoff: { baseMs, maxMs },
    minUpdateIntervalMs: reader.ms(
      'minUpdateIntervalMs',
      { min: 0, max: 60_000 },
      defaults.minUpdateIntervalMs,
    ),
    stale: reader.boolean('stale', defaults.stale),
    signal: signal,
  };
}

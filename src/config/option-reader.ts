import { ConfigError } from '../errors';
import { closestKey } from './closest-key';

/**
 * Every key an options type accepts, listed once as `{ key: true }`: the compiler checks that the
 * list is complete and holds nothing else, so the runtime check of unknown keys cannot drift from
 * the type.
 */
export type KnownKeys<T> = { readonly [K in keyof T]-?: true };

/** Range of a number option; both ends inclusive unless `minExclusive`. */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** `min` itself is refused (`> min`). */
  readonly minExclusive?: boolean;
  /** Only whole numbers. */
  readonly integer?: boolean;
}

/** Longest duration Node's timers honour, in ms: a longer setTimeout fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Rule of a string option. */
export interface StringRule {
  /** A value must match this... */
  readonly pattern?: RegExp;
  /** ...described so: `a service name of letters, digits, '-', '_' and '.'`. Default: `a non-empty string`. */
  readonly rule?: string;
  /** Most characters allowed. Default: unlimited. */
  readonly maxLength?: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `an integer from 1 to 65535`, `a number > 0`, `a duration in ms from 1000 to 600000`. */
function describeNumber(kind: string, rule: NumberRule): string {
  const { min, max, minExclusive } = rule;
  if (min !== undefined && max !== undefined) {
    return minExclusive ? `${kind} > ${min} and <= ${max}` : `${kind} from ${min} to ${max}`;
  }
  if (min !== undefined) return `${kind} ${minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

function fitsNumber(value: unknown, rule: NumberRule): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || (rule.minExclusive ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || value <= rule.max)
  );
}

/**
 * Reads one options object found at `path`. Each reader validates one key, applies its default
 * and names the full path (`path.key`) in the ConfigError it throws, so resolvers never build
 * paths by hand and never rewrite another resolver's message.
 *
 * `undefined` counts as absent everywhere, so `{ timeoutMs: undefined }` takes the default.
 */
export class OptionReader<T> {
  private constructor(
    /** Path of this object, e.g. `discovery.client`; `''` for the top level. */
    readonly path: string,
    private readonly values: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * Reads the object `value` (absent means `{}`) and rejects every key not in `keys`, naming its
   * full path and suggesting the closest known key (see {@link closestKey}).
   */
  static strict<T>(
    value: unknown,
    path: string,
    keys: KnownKeys<T>,
    renamed: Readonly<Record<string, string>> = {},
  ): OptionReader<T> {
    const reader = OptionReader.lenient<T>(value, path);
    const known = Object.keys(keys);
    for (const key of Object.keys(reader.values)) {
      if (known.includes(key)) continue;
      const renamedTo = Object.hasOwn(renamed, key) ? renamed[key] : undefined;
      if (renamedTo !== undefined) {
        throw new ConfigError(
          join(path, key),
          `renamed to '${renamedTo}' (see CHANGELOG.md)`,
          reader.values[key],
          { secret: true },
        );
      }
      const suggestion = closestKey(key, known);
      const oneOfKnown =
        path === '' ? 'one of the top-level options' : `one of the options of ${path}`;
      throw new ConfigError(
        join(path, key),
        suggestion === undefined
          ? `${oneOfKnown} (${known.join(', ')})`
          : `${oneOfKnown}; did you mean '${suggestion}'?`,
        reader.values[key],
        // What an unknown key holds is unknown: it could be a misspelt token.
        { secret: true },
      );
    }
    return reader;
  }

  /** Reads the object `value` without checking its keys: for readers of a subset of them. */
  static lenient<T>(value: unknown, path: string): OptionReader<T> {
    const values = value ?? {};
    if (!isPlainObject(values)) throw new ConfigError(path || 'options', 'an object', value);
    return new OptionReader<T>(path, values);
  }

  /** Full path of `key`, for cross-field messages. */
  pathOf(key: keyof T & string): string {
    return join(this.path, key);
  }

  /** The value as given, unvalidated. */
  raw(key: keyof T & string): unknown {
    return this.values[key];
  }

  /** True when `key` holds a value other than `undefined`. */
  has(key: keyof T & string): boolean {
    return this.values[key] !== undefined;
  }

  /** Throws the ConfigError of `key` for `rule`, showing `value` (default: the value given). */
  fail(key: keyof T & string, rule: string, value: unknown = this.values[key]): never {
    throw new ConfigError(this.pathOf(key), rule, value);
  }

  /** A finite number within `rule`; `fallback` when absent. */
  number(key: keyof T & string, rule: NumberRule, fallback: number): number;
  number(key: keyof T & string, rule: NumberRule): number | undefined;
  number(key: keyof T & string, rule: NumberRule, fallback?: number): number | undefined {
    return this.checkNumber(key, rule, rule.integer ? 'an integer' : 'a number', fallback);
  }

  /** A whole number within `rule`; `fallback` when absent. */
  integer(key: keyof T & string, rule: NumberRule, fallback: number): number;
  integer(key: keyof T & string, rule: NumberRule): number | undefined;
  integer(key: keyof T & string, rule: NumberRule, fallback?: number): number | undefined {
    return this.checkNumber(key, { ...rule, integer: true }, 'an integer', fallback);
  }

  /**
   * A duration in milliseconds within `rule` (by default at most {@link MAX_TIMER_MS}, the
   * longest timer Node honours); `fallback` when absent.
   */
  ms(key: keyof T & string, rule: NumberRule, fallback: number): number;
  ms(key: keyof T & string, rule: NumberRule): number | undefined;
  ms(key: keyof T & string, rule: NumberRule, fallback?: number): number | undefined {
    const bounded = { max: MAX_TIMER_MS, ...rule };
    return this.checkNumber(key, bounded, 'a duration in ms', fallback);
  }

  /**
   * Two durations where the second bounds the first (a backoff's `baseMs` and `maxMs`, a per-try
   * timeout and the deadline): both within `rule`, the second defaulting to at least the first and
   * refused below it. Returns `[low, high]`.
   */
  msPair(
    lowKey: keyof T & string,
    highKey: keyof T & string,
    rule: NumberRule,
    fallbacks: readonly [number, number],
  ): [number, number] {
    const low = this.ms(lowKey, rule, fallbacks[0]);
    const high = this.ms(highKey, rule, Math.max(fallbacks[1], low));
    if (high < low) this.fail(highKey, `at least ${this.pathOf(lowKey)} (${low})`);
    return [low, high];
  }

  /** `true` or `false`; `fallback` when absent. */
  boolean(key: keyof T & string, fallback: boolean): boolean;
  boolean(key: keyof T & string): boolean | undefined;
  boolean(key: keyof T & string, fallback?: boolean): boolean | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false');
    return value;
  }

  /** A non-empty (not blank) string within `rule`; `fallback` when absent. */
  string(key: keyof T & string, rule: StringRule, fallback: string): string;
  string(key: keyof T & string, rule?: StringRule): string | undefined;
  string(key: keyof T & string, rule: StringRule = {}, fallback?: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    const described = rule.rule ?? 'a non-empty string';
    if (
      typeof value !== 'string' ||
      value.trim() === '' ||
      (rule.pattern !== undefined && !rule.pattern.test(value))
    ) {
      this.fail(key, described);
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
      this.fail(key, `${described} of at most ${rule.maxLength} characters`);
    }
    return value;
  }

  /** One of `allowed`; `fallback` when absent. */
  oneOf<V extends string>(key: keyof T & string, allowed: readonly V[], fallback: V): V;
  oneOf<V extends string>(key: keyof T & string, allowed: readonly V[]): V | undefined;
  oneOf<V extends string>(
    key: keyof T & string,
    allowed: readonly V[],
    fallback?: V,
  ): V | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    if (!(allowed as readonly unknown[]).includes(value)) {
      this.fail(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    }
    return value as V;
  }

  /** A list of strings each matching `rule` (non-empty by default), copied and frozen; `fallback` when absent. */
  stringList(
    key: keyof T & string,
    rule: StringRule = {},
    fallback: readonly string[] = [],
  ): readonly string[] {
    const value = this.values[key];
    if (value === undefined) return Object.freeze([...fallback]);
    const { pattern = /\S/, rule: described = 'non-empty strings' } = rule;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && pattern.test(v))) {
      this.fail(key, `a list of ${described}`);
    }
    return Object.freeze([...(value as string[])]);
  }

  /** A function; `fallback` when absent. `rule` says what it must do (`a function returning ms`). */
  fn<F>(key: keyof T & string, fallback: F, rule?: string): F;
  fn<F>(key: keyof T & string): F | undefined;
  fn<F>(key: keyof T & string, fallback?: F, rule = 'a function'): F | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'function') this.fail(key, rule);
    return value as F;
  }

  /** The nested options object at `key` (absent means `{}`), with its keys checked. */
  section<K extends keyof T & string>(
    key: K,
    keys: KnownKeys<NonNullable<T[K]>>,
    renamed?: Readonly<Record<string, string>>,
  ): OptionReader<NonNullable<T[K]>> {
    return OptionReader.strict(this.values[key], this.pathOf(key), keys, renamed);
  }

  /**
   * An object keyed by names the caller chooses (`meta`, `discovery.services`): each entry is read
   * by `read` with its full path; absent means empty.
   */
  record<V>(
    key: keyof T & string,
    read: (value: unknown, path: string, name: string) => V,
  ): ReadonlyMap<string, V> {
    const value = this.values[key] ?? {};
    if (!isPlainObject(value)) this.fail(key, 'an object keyed by name');
    const entries = new Map<string, V>();
    const path = this.pathOf(key);
    for (const [name, entry] of Object.entries(value)) {
      entries.set(name, read(entry, join(path, name), name));
    }
    return entries;
  }

  private checkNumber(
    key: keyof T & string,
    rule: NumberRule,
    kind: string,
    fallback: number | undefined,
  ): number | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    if (!fitsNumber(value, rule)) this.fail(key, describeNumber(kind, rule));
    return value;
  }
}

import type { KvEntry } from '../consul/kv-types';

/** What {@link kvTree} built: the object, and the keys whose own value gave way to keys below them. */
export interface KvTree {
  readonly value: Record<string, unknown>;
  /** Keys (relative to the prefix) dropped because deeper keys exist (`a` beside `a/b`), sorted. */
  readonly conflicts: readonly string[];
}

function isTree(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // An own property even for `__proto__`: a key in Consul must never reach Object.prototype.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Maps the keys under `prefix` to an object, as Spring Cloud Consul's key/value mode does:
 * `prefix/a/b = "1"` becomes `{ a: { b: "1" } }`. Values stay strings (coerce them in the schema).
 *
 * Rules: the part after `prefix` is split on `/`, empty segments skipped; folder keys (no value, or
 * a key ending in `/`) and the prefix key itself add nothing; when a key has a value and keys below
 * it (`a` and `a/b`), the keys below win and `a` is reported in `conflicts` (an object cannot also
 * be a string). Pure; the entries' order does not matter.
 */
export function kvTree(prefix: string, entries: readonly KvEntry[]): KvTree {
  const root: Record<string, unknown> = {};
  const conflicts = new Set<string>();
  const base = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
  // Deeper keys first, so a leaf never has to be replaced by an object afterwards.
  const leaves = entries
    .filter((entry) => entry.Value !== null && !entry.Key.endsWith('/'))
    .filter((entry) => entry.Key.startsWith(base))
    .map((entry) => ({
      segments: entry.Key.slice(base.length)
        .split('/')
        .filter((s) => s !== ''),
      value: entry.Value as string,
    }))
    .filter((leaf) => leaf.segments.length > 0)
    .sort((a, b) => b.segments.length - a.segments.length);
  for (const { segments, value } of leaves) {
    let node = root;
    let blocked = false;
    for (const segment of segments.slice(0, -1)) {
      const next = Object.prototype.hasOwnProperty.call(node, segment) ? node[segment] : undefined;
      if (next === undefined) {
        const child: Record<string, unknown> = {};
        setOwn(node, segment, child);
        node = child;
      } else if (isTree(next)) {
        node = next;
      } else {
        // Cannot happen with deeper keys first; kept so a leaf is never silently overwritten.
        blocked = true;
        break;
      }
    }
    const last = segments[segments.length - 1]!;
    if (!blocked && !Object.prototype.hasOwnProperty.call(node, last)) setOwn(node, last, value);
    else conflicts.add(segments.join('/'));
  }
  return { value: root, conflicts: [...conflicts].sort() };
}

/**
 * Remembers the objects a resolver made. A public constructor that takes raw options from users
 * and resolved ones from our own edges (ConsulClient, ServiceWatcher) tells the two apart by
 * identity, never by shape: a raw object, whatever keys it holds, is always validated, and a
 * resolved one is never validated twice. A copy of a resolved object counts as raw.
 */
export class ResolvedMark<T extends object> {
  readonly #made = new WeakSet<object>();

  /** Marks `value` as made by the resolver and hands it back. */
  mark<V extends T>(value: V): V {
    this.#made.add(value);
    return value;
  }

  /** True only for an object {@link mark} was given. */
  has(value: object): value is T {
    return this.#made.has(value);
  }
}

// Shapes of Consul's KV and session endpoints (Consul's own PascalCase), used by src/kv and src/leader.

/** One entry of `GET /v1/kv/:key` (the value decoded from base64 to UTF-8, null for a folder key). */
export interface KvEntry {
  readonly Key: string;
  /** UTF-8 text of the value; null when Consul stored none (a "folder" key or an empty PUT). */
  readonly Value: string | null;
  readonly Flags: number;
  /** Id of the session holding the key's lock, when one does. */
  readonly Session: string | undefined;
  readonly ModifyIndex: number;
  readonly LockIndex: number;
  /** Set when the stored bytes are not UTF-8: `Value` then holds them with U+FFFD replacements. */
  readonly invalidUtf8?: true;
}

/** Query of `GET /v1/kv/:key`, blocking-query parameters included. */
export interface KvQuery {
  /** Every key under the prefix (Consul's `recurse`). */
  readonly recurse?: boolean;
  /** Wait from this index (blocking); 0 or absent: answer at once. */
  readonly index?: number;
  /** Longest block, in ms (Consul's `wait`); only with `index > 0`. */
  readonly waitMs?: number;
  /** Any server may answer (Consul's `stale`): stays up while the servers elect a leader. */
  readonly stale?: boolean;
}

/** Body of `PUT /v1/session/create`. */
export interface SessionCreateRequest {
  readonly Name: string;
  /** Node checks binding the session, e.g. `serfHealth`. */
  readonly NodeChecks: readonly string[];
  /** Service checks binding the session (the service's own health check). */
  readonly ServiceChecks: readonly { readonly ID: string }[];
  /** Go duration, e.g. `15s`. */
  readonly LockDelay: string;
  readonly Behavior: 'release' | 'delete';
  /** Go duration; only for TTL sessions, which must then be renewed. */
  readonly TTL?: string;
}

/** Answer of `GET /v1/session/info/:id` (the fields we read). */
export interface SessionInfo {
  readonly ID: string;
  readonly Name: string;
  readonly Node: string;
  readonly LockDelay: number;
  readonly Behavior: string;
}

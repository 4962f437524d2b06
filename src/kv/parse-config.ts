import { parseDocument } from 'yaml';
import type { KvEntry } from '../consul/kv-types';
import type { KvConfigProblem } from '../errors';
import { kvTree } from './kv-tree';

/** How a configuration is stored: one JSON or YAML document under a key, or a tree of keys. */
export type ConfigFormat = 'json' | 'yaml' | 'tree';

/** A value read from Consul before validation, or why none could be read. */
export type ParsedConfig =
  | { readonly ok: true; readonly value: unknown; readonly conflicts: readonly string[] }
  | {
      readonly ok: false;
      readonly problem: KvConfigProblem;
      /** Says where, never what: a parser's own message quotes the text, which may be secret. */
      readonly detail: string;
    };

/**
 * What identifies a read's content, so an unchanged answer is neither parsed nor announced again:
 * the document's text, or every key and value of the tree. Pure.
 */
export function configSource(
  format: ConfigFormat,
  key: string,
  entries: readonly KvEntry[],
): string {
  if (format !== 'tree') {
    const entry = entries.find((e) => e.Key === key);
    return entry === undefined ? '\u0000missing' : `=${entry.Value ?? ''}`;
  }
  const pairs = entries
    .filter((e) => e.Value !== null)
    .map((e) => [e.Key, e.Value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(pairs);
}

/** Turns a KV answer into the raw value of `format`. Pure. */
export function parseConfig(
  format: ConfigFormat,
  key: string,
  entries: readonly KvEntry[],
): ParsedConfig {
  const mangled = entries.find(
    (e) => e.invalidUtf8 === true && (format === 'tree' || e.Key === key),
  );
  if (mangled !== undefined) {
    return { ok: false, problem: 'unparsable', detail: `'${mangled.Key}' is not UTF-8 text` };
  }
  if (format === 'tree') {
    const tree = kvTree(key, entries);
    if (Object.keys(tree.value).length === 0) {
      return { ok: false, problem: 'missing', detail: 'no key under the prefix' };
    }
    return { ok: true, value: tree.value, conflicts: tree.conflicts };
  }
  const entry = entries.find((e) => e.Key === key);
  if (entry === undefined)
    return { ok: false, problem: 'missing', detail: 'the key does not exist' };
  const text = entry.Value ?? '';
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(text) as unknown, conflicts: [] };
    } catch {
      return {
        ok: false,
        problem: 'unparsable',
        detail: `not a JSON document (${text.length} bytes)`,
      };
    }
  }
  const document = parseDocument(text, { prettyErrors: false });
  const error = document.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    return {
      ok: false,
      problem: 'unparsable',
      detail: `not a YAML document (${error.code}${where})`,
    };
  }
  try {
    // An alias bomb (a billion laughs) stops at yaml's alias limit instead of filling the heap.
    return { ok: true, value: document.toJS({ maxAliasCount: 100 }) as unknown, conflicts: [] };
  } catch {
    return { ok: false, problem: 'unparsable', detail: 'a YAML document with too many aliases' };
  }
}

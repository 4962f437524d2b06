import type { KvEntry } from '../../src/consul/kv-types';
import { kvTree } from '../../src/kv/kv-tree';
import { parseConfig } from '../../src/kv/parse-config';

const entry = (Key: string, Value: string | null): KvEntry => ({
  Key,
  Value,
  Flags: 0,
  Session: undefined,
  ModifyIndex: 1,
  LockIndex: 0,
});

describe('kvTree', () => {
  it('maps keys under the prefix to nested objects, values as strings', () => {
    const tree = kvTree('app', [
      entry('app/db/host', 'h'),
      entry('app/db/port', '5432'),
      entry('app/x', '1'),
    ]);
    expect(tree).toEqual({ value: { db: { host: 'h', port: '5432' }, x: '1' }, conflicts: [] });
  });

  it('lets keys below win over a key with a value, whatever the order, and reports it', () => {
    for (const entries of [
      [entry('app/a', 'shadowed'), entry('app/a/b', '2')],
      [entry('app/a/b', '2'), entry('app/a', 'shadowed')],
    ]) {
      expect(kvTree('app/', entries)).toEqual({ value: { a: { b: '2' } }, conflicts: ['a'] });
    }
  });

  it('skips folder keys, empty segments, the prefix itself and keys outside it', () => {
    const tree = kvTree('app', [
      entry('app/', null),
      entry('app/folder/', null),
      entry('app//a///b', 'v'),
      entry('application/x', 'not under app/'),
      entry('app', 'the prefix key'),
    ]);
    expect(tree.value).toEqual({ a: { b: 'v' } });
  });

  it('never writes to Object.prototype', () => {
    const tree = kvTree('app', [
      entry('app/__proto__/polluted', 'yes'),
      entry('app/constructor', 'c'),
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(tree.value).sort()).toEqual(['__proto__', 'constructor']);
  });
});

describe('parseConfig', () => {
  it('names where a document fails, never its text', () => {
    const json = parseConfig('json', 'k', [entry('k', '{"password": "hunter2"')]);
    expect(json).toMatchObject({ ok: false, problem: 'unparsable' });
    expect(JSON.stringify(json)).not.toContain('hunter2');
    const yaml = parseConfig('yaml', 'k', [entry('k', 'password: [hunter2')]);
    expect(yaml).toMatchObject({ ok: false, problem: 'unparsable' });
    expect(JSON.stringify(yaml)).not.toContain('hunter2');
  });

  it('stops a YAML alias bomb instead of expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
      .concat(
        Array.from(
          { length: 8 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(',')}]`,
        ),
      )
      .join('\n');
    expect(parseConfig('yaml', 'k', [entry('k', bomb)])).toMatchObject({
      ok: false,
      problem: 'unparsable',
    });
  });

  it('a missing key is `missing`', () => {
    expect(parseConfig('json', 'k', [])).toMatchObject({ ok: false, problem: 'missing' });
    expect(parseConfig('tree', 'k', [])).toMatchObject({ ok: false, problem: 'missing' });
  });
});

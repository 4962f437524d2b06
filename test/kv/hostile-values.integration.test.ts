// Hostile values written to Consul KV under a followed key: invalid UTF-8, deep nesting (JSON and
// YAML), prototype keys (document and tree), a value near Consul's 512 KiB limit. None may crash
// the watch, pollute Object.prototype or replace the last good value with something unparsable.
import { createConfig } from '../../src/kv/create-config';
import type { ConsulConfig } from '../../src/kv/consul-config';
import { waitFor } from '../../harness/wait-for';

const address = (): string => process.env.CONSUL_HTTP_ADDR!;
let unique = 0;
const keyOf = (name: string): string => `kv-hostile/${process.pid}/${++unique}/${name}`;

async function put(key: string, body: string | Uint8Array): Promise<void> {
  const response = await fetch(`${address()}/v1/kv/${key}`, { method: 'PUT', body });
  if ((await response.text()).trim() !== 'true') throw new Error(`PUT ${key}: ${response.status}`);
}

describe('hostile KV values', () => {
  const open: ConsulConfig<unknown>[] = [];
  const follow = async (
    key: string,
    format: 'json' | 'yaml' | 'tree',
    first: string,
  ): Promise<ConsulConfig<unknown>> => {
    await put(format === 'tree' ? `${key}/ok` : key, first);
    const config = createConfig(key, { format, metrics: false, consul: { address: address() } });
    open.push(config);
    await config.ready();
    return config;
  };
  /** Writes `bad`, waits for its refusal, then a good value must still apply. */
  const refusedThenRecovers = async (
    key: string,
    config: ConsulConfig<unknown>,
    bad: string | Uint8Array,
  ) => {
    const before = config.get();
    const refusedBefore = config.status().refused;
    await put(key, bad);
    await waitFor(
      'the refusal',
      () => (config.status().refused > refusedBefore ? true : undefined),
      {
        timeoutMs: 5_000,
      },
    );
    expect(config.get()).toEqual(before);
    await put(key, '{"version": 2}');
    await waitFor('the next good value', () =>
      (config.get() as { version?: number }).version === 2 ? true : undefined,
    );
  };
  afterAll(async () => {
    await Promise.all(open.map((config) => config.close()));
  });

  it('refuses invalid UTF-8 (a binary value) and keeps the last good value', async () => {
    const key = keyOf('binary');
    const config = await follow(key, 'json', '{"version": 1}');
    await refusedThenRecovers(key, config, new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d]));
  });

  it('refuses a document that is valid JSON only once invalid UTF-8 is replaced (no silent U+FFFD)', async () => {
    const key = keyOf('mangled');
    const config = await follow(key, 'json', '{"version": 1}');
    const text = new TextEncoder().encode('{"version": 9, "name": "X"}');
    text[text.indexOf(0x58)] = 0xff;
    await refusedThenRecovers(key, config, text);
    const prefix = keyOf('mangled-tree');
    const tree = await follow(prefix, 'tree', '1');
    await put(`${prefix}/name`, new Uint8Array([0x61, 0xff]));
    await waitFor('the refusal', () => (tree.status().refused > 0 ? true : undefined), {
      timeoutMs: 5_000,
    });
    expect(tree.get()).toEqual({ ok: '1' });
  });

  it('survives 100,000 levels of JSON nesting and of YAML flow nesting', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const json = keyOf('deep-json');
    const jsonConfig = await follow(json, 'json', '{"version": 1}');
    // Valid JSON: applied (V8's parser is not recursive); the watch goes on.
    const changed = new Promise((resolve) => jsonConfig.onChange(resolve));
    await put(json, deep);
    await changed;
    expect(Array.isArray(jsonConfig.get())).toBe(true);
    await put(json, '{"version": 2}');
    await waitFor('the next value', () =>
      (jsonConfig.get() as { version?: number }).version === 2 ? true : undefined,
    );
    const yaml = keyOf('deep-yaml');
    const yamlConfig = await follow(yaml, 'yaml', 'version: 1');
    await refusedThenRecovers(yaml, yamlConfig, deep);
  });

  it('keeps __proto__ and constructor as plain data in documents and trees', async () => {
    const key = keyOf('proto');
    const config = await follow(key, 'json', '{"version": 1}');
    await put(key, '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}');
    await waitFor('the change', () =>
      Object.hasOwn(config.get() as object, '__proto__') ? true : undefined,
    );
    const prefix = keyOf('proto-tree');
    const tree = await follow(prefix, 'tree', '1');
    await put(`${prefix}/__proto__/polluted`, '1');
    await put(`${prefix}/constructor/prototype/polluted`, '1');
    await put(`${prefix}/last`, 'x');
    await waitFor('the tree change', () =>
      (tree.get() as { last?: string }).last === 'x' ? true : undefined,
    );
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(config.get())).toBe(Object.prototype);
  });

  it('applies a value near Consul’s 512 KiB limit', async () => {
    const key = keyOf('huge');
    const config = await follow(key, 'json', '{"version": 1}');
    const big = JSON.stringify({ version: 3, blob: 'x'.repeat(500_000) });
    await put(key, big);
    await waitFor('the huge value', () =>
      (config.get() as { version?: number }).version === 3 ? true : undefined,
    );
  });
});

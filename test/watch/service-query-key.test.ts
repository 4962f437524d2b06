import {
  readServiceQuery,
  SERVICE_QUERY_KEYS,
  serviceQueryKey,
} from '../../src/watch/service-watcher-options';
import { OptionReader } from '../../src/config/option-reader';
import type { ServiceQueryOptions } from '../../src/watch/service-watcher-options';

const resolve = (options: ServiceQueryOptions) =>
  readServiceQuery(OptionReader.lenient(options, 'watch'));

/** Every query-shaping field set, so that each can be changed on its own. */
const full = resolve({
  passingOnly: true,
  tag: 'blue',
  datacenter: 'dc1',
  filter: 'Service.Meta.v == "1"',
  stale: false,
  cached: false,
});

/** `query` with `field` changed: a boolean flipped, a string changed or set. */
function changed(field: keyof ServiceQueryOptions): Record<string, unknown> {
  const value = (full as Record<string, unknown>)[field];
  if (typeof value === 'boolean') return { ...full, [field]: !value };
  return { ...full, [field]: `${typeof value === 'string' ? value : ''}x` };
}

describe('serviceQueryKey', () => {
  const fields = Object.keys(SERVICE_QUERY_KEYS) as (keyof ServiceQueryOptions)[];

  it('covers every query-shaping field the resolved query holds', () => {
    expect(Object.keys(full).sort()).toEqual([...fields].sort());
  });

  it.each(fields)('gives a query differing only in %s another key', (field) => {
    expect(serviceQueryKey('web', changed(field))).not.toBe(serviceQueryKey('web', full));
  });

  it('gives equal queries the same key, whatever their key order', () => {
    const reordered = Object.fromEntries(Object.entries(full).reverse());
    expect(serviceQueryKey('web', reordered)).toBe(serviceQueryKey('web', full));
    expect(serviceQueryKey('api', full)).not.toBe(serviceQueryKey('web', full));
  });

  it('tells a field left out from one set to a value', () => {
    const withoutTag = resolve({ passingOnly: true });
    expect(serviceQueryKey('web', withoutTag)).not.toBe(
      serviceQueryKey('web', { ...withoutTag, tag: 'null' }),
    );
  });
});

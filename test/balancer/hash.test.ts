import { avalanche32, fnv1a32, hashString } from '../../src/balancer/hash';

/** Reference FNV-1a over the bytes Node's own UTF-8 encoder produces. */
function referenceFnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

describe('fnv1a32', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('matches the published test vector for %j', (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });

  it.each(['user-42', 'é', 'ü€', '日本語', 'emoji 😀 key', 'lone \ud800 high', 'lone \udc00 low'])(
    'hashes the UTF-8 bytes of %j',
    (text) => {
      expect(fnv1a32(text)).toBe(referenceFnv1a(text));
    },
  );
});

describe('hashString', () => {
  it('is avalanche32 of FNV-1a and unsigned', () => {
    expect(hashString('key')).toBe(avalanche32(fnv1a32('key')));
    expect(hashString('key')).toBeGreaterThanOrEqual(0);
  });

  it('spreads keys that differ only in the last character over the whole range', () => {
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[hashString(`web-1#${i}`) >>> 28]!++;
    for (const count of buckets) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});

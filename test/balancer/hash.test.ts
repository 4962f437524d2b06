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

  // Each side of every UTF-8 length boundary, and every way a surrogate can fail to pair.
  it.each([
    ['the last 1-byte code point', '\u007f'],
    ['the first 2-byte code point', '\u0080'],
    ['the last 2-byte code point', '\u07ff'],
    ['the first 3-byte code point', '\u0800'],
    ['the code point before the surrogates', '\ud7ff'],
    ['the code point after the surrogates', '\ue000'],
    ['the last 3-byte code point', '\uffff'],
    ['the first 4-byte code point', '\ud800\udc00'],
    ['the last code point', '\udbff\udfff'],
    ['a high surrogate before a high surrogate', '\ud800\udbff'],
    ['a high surrogate before U+E000', '\udbff\ue000'],
    ['a high surrogate before U+D7FF', '\ud800\ud7ff'],
    ['a low surrogate before a low surrogate', '\udc00\udfff'],
    ['a low surrogate before a high one', '\udfff\ud800'],
    ['a high surrogate at the end', 'x\udbff'],
  ])('hashes %s as its UTF-8 bytes', (_label, text) => {
    expect(fnv1a32(text)).toBe(referenceFnv1a(text));
  });
});

describe('avalanche32', () => {
  // Values of Murmur3's fmix32, computed independently (Python, arbitrary-precision integers).
  it.each([
    [0, 0],
    [1, 0x514e28b7],
    [0xdeadbeef, 0x0de5c6a9],
    [0x80000000, 0x6d3c65a0],
    [0xffffffff, 0x81f16f39],
  ])('maps %i to %i, as Murmur3 does', (value, expected) => {
    expect(avalanche32(value)).toBe(expected);
  });
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

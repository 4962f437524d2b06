const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

// One FNV-1a round: xor the byte in, multiply by the prime modulo 2^32.
function mix(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME);
}

/**
 * 32-bit FNV-1a of the UTF-8 encoding of `text` (unsigned). UTF-8 rather than UTF-16 code units so
 * the value matches other languages' implementations; lone surrogates hash as U+FFFD, as
 * TextEncoder would encode them. Allocation-free, O(length).
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      hash = mix(hash, code);
      continue;
    }
    if (code < 0x800) {
      hash = mix(hash, 0xc0 | (code >> 6));
      hash = mix(hash, 0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
        hash = mix(hash, 0xf0 | (code >> 18));
        hash = mix(hash, 0x80 | ((code >> 12) & 0x3f));
        hash = mix(hash, 0x80 | ((code >> 6) & 0x3f));
        hash = mix(hash, 0x80 | (code & 0x3f));
        continue;
      }
      code = 0xfffd;
    }
    hash = mix(hash, 0xe0 | (code >> 12));
    hash = mix(hash, 0x80 | ((code >> 6) & 0x3f));
    hash = mix(hash, 0x80 | (code & 0x3f));
  }
  return hash >>> 0;
}

/**
 * Murmur3's 32-bit finaliser: FNV-1a alone changes few high bits between keys that differ only
 * in their last character ("web-1#0", "web-1#1"), which would clump ring points together.
 */
export function avalanche32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Well-spread unsigned 32-bit hash of `text` for the consistent-hash ring (not cryptographic). */
export function hashString(text: string): number {
  return avalanche32(fnv1a32(text));
}

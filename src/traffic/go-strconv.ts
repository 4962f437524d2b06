// The three Go `strconv` functions Consul's filter language (go-bexpr v0.1.2) applies to the text of
// an expression: `Unquote` for string literals, `ParseInt(s, 0, 0)` for integer fields and
// `ParseBool` for boolean fields. Reproduced because their corner cases decide whether Consul
// accepts an expression (`Service.Port == "0x1F90"` is 8080, `== "08"` is refused as bad octal).
// Each returns undefined where Go returns an error.

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/**
 * Go's `strconv.Unquote` for a double-quoted or back-quoted literal (quotes included). Escapes that
 * produce raw bytes (`\xff`, `\377`) are decoded as UTF-8; a sequence that is not valid UTF-8 is
 * refused here (Go keeps the bytes, which can never equal a JSON string Consul holds anyway, so
 * only `!=`/`not in` outcomes could differ; refusing is the safer side).
 */
export function goUnquote(literal: string): string | undefined {
  if (literal.length < 2) return undefined;
  const quote = literal[0];
  if (literal[literal.length - 1] !== quote) return undefined;
  const body = literal.slice(1, -1);
  if (quote === '`') {
    if (body.includes('`')) return undefined;
    return body.replace(/\r/g, ''); // Go drops carriage returns from raw strings
  }
  if (quote !== '"') return undefined;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < body.length;) {
    const ch = body[i]!;
    if (ch === '"' || ch === '\n') return undefined;
    if (ch !== '\\') {
      const cp = body.codePointAt(i)!;
      const text = String.fromCodePoint(cp);
      bytes.push(...encoder.encode(text));
      i += text.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!.charCodeAt(0));
      i += 2;
      continue;
    }
    const hexLength = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = body.slice(i + 2, i + 2 + hexLength);
      if (!new RegExp(`^[0-9A-Fa-f]{${hexLength}}$`).test(hex)) return undefined;
      const value = parseInt(hex, 16);
      if (e === 'x') bytes.push(value);
      else {
        if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return undefined;
        bytes.push(...encoder.encode(String.fromCodePoint(value)));
      }
      i += 2 + hexLength;
      continue;
    }
    if (e >= '0' && e <= '7') {
      const oct = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const value = parseInt(oct, 8);
      if (value > 255) return undefined;
      bytes.push(value);
      i += 4;
      continue;
    }
    return undefined; // `\'`, `\q`...: not a valid escape inside double quotes
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's `strconv.ParseInt(s, 0, 0)` on a 64-bit platform, as a bigint. */
export function goParseInt(s: string): bigint | undefined {
  let text = s;
  let negative = false;
  if (text.startsWith('+') || text.startsWith('-')) {
    negative = text[0] === '-';
    text = text.slice(1);
  }
  if (text === '') return undefined;
  let base = 10n;
  let digits = text;
  const prefix = text.length >= 3 ? text.slice(0, 2).toLowerCase() : '';
  if (prefix === '0x' || prefix === '0b' || prefix === '0o') {
    base = prefix === '0x' ? 16n : prefix === '0b' ? 2n : 8n;
    digits = text.slice(2);
  } else if (text[0] === '0') {
    base = 8n;
    digits = text.slice(1);
  }
  let value = 0n;
  let underscores = false;
  for (const ch of digits) {
    if (ch === '_') {
      underscores = true;
      continue;
    }
    const d = parseInt(ch, 36);
    if (Number.isNaN(d) || BigInt(d) >= base) return undefined;
    value = value * base + BigInt(d);
  }
  if (underscores && !underscoresOk(s)) return undefined;
  if (base !== 10n && digits === '' && text[0] !== '0') return undefined;
  const signed = negative ? -value : value;
  return signed < INT64_MIN || signed > INT64_MAX ? undefined : signed;
}

/** Go's rule: an underscore only between digits, or between a base prefix and a digit. */
function underscoresOk(s: string): boolean {
  let text = s.startsWith('+') || s.startsWith('-') ? s.slice(1) : s;
  let saw = '^';
  let hex = false;
  if (text.length >= 2 && text[0] === '0' && /[box]/i.test(text[1]!)) {
    saw = '0';
    hex = text[1]!.toLowerCase() === 'x';
    text = text.slice(2);
  }
  for (const ch of text) {
    if (/[0-9]/.test(ch) || (hex && /[a-f]/i.test(ch))) saw = '0';
    else if (ch === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's `strconv.ParseBool`. */
export function goParseBool(s: string): boolean | undefined {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return undefined;
}

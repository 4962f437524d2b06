import { goParseBool, goParseInt, goUnquote } from '../../src/traffic/go-strconv';

describe('Go strconv as go-bexpr uses it', () => {
  it.each([
    ['8080', 8080n],
    ['-12', -12n],
    ['+7', 7n],
    ['0x1F90', 8080n],
    ['0X1f90', 8080n],
    ['0b101', 5n],
    ['0o17', 15n],
    ['017', 15n], // a leading 0 is octal with base 0
    ['0', 0n],
    ['1_000', 1000n],
    ['0x_1F', 31n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ])('ParseInt(%p, 0, 0) = %p', (text, value) => {
    expect(goParseInt(text)).toBe(value);
  });

  it.each(['', '08', '1.5', '0x', '1__0', '_1', '1_', '9223372036854775808', 'abc', '1e3', ' 1'])(
    'ParseInt(%p, 0, 0) fails',
    (text) => {
      expect(goParseInt(text)).toBeUndefined();
    },
  );

  it('ParseBool accepts exactly Go’s spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(goParseBool(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(goParseBool(f)).toBe(false);
    for (const bad of ['yes', 'tRUE', '', ' true']) expect(goParseBool(bad)).toBeUndefined();
  });

  it('Unquote: Go escapes in double quotes, raw back-quoted strings without \\r', () => {
    expect(goUnquote('"a\\tb\\n"')).toBe('a\tb\n');
    expect(goUnquote('"\\x41\\u263a\\U0001F600\\101"')).toBe('A☺😀A');
    expect(goUnquote('"\\xc3\\xa9"')).toBe('é'); // bytes that form UTF-8
    expect(goUnquote('`a\\n\r\nb`')).toBe('a\\n\nb');
    expect(goUnquote('"plain é"')).toBe('plain é');
  });

  it.each([
    ['"\\\'"'],
    ['"\\q"'],
    ['"a\nb"'],
    ['"\\xff"'],
    ['"\\ud800"'],
    ['"\\400"'],
    ['"\\1"'],
    ['"a'],
  ])('Unquote(%p) fails', (literal) => {
    expect(goUnquote(literal)).toBeUndefined();
  });
});

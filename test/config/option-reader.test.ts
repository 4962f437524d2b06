import { closestKey, editDistance } from '../../src/config/closest-key';
import { describeValue } from '../../src/config/describe-value';
import { OptionReader } from '../../src/config/option-reader';
import type { KnownKeys } from '../../src/config/option-reader';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

interface Sample {
  readonly name?: string;
  readonly timeoutMs?: number;
  readonly token?: string;
  readonly mode?: 'a' | 'b';
  readonly nested?: { readonly depth?: number };
}

const KEYS: KnownKeys<Sample> = {
  name: true,
  timeoutMs: true,
  token: true,
  mode: true,
  nested: true,
};

function configError(fn: () => unknown): ConfigError {
  const error = thrownBy(fn);
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

const read = (value: unknown, path = 'sample'): OptionReader<Sample> =>
  OptionReader.strict(value, path, KEYS);

describe('ConfigError message format', () => {
  it('reads "Invalid option <path>: must be <rule> (got <value>)"', () => {
    const error = configError(() => read({ timeoutMs: -5 }).ms('timeoutMs', { min: 1 }, 10));
    expect(error.message).toBe(
      'Invalid option sample.timeoutMs: must be a duration in ms from 1 to 2147483647 (got -5)',
    );
    expect(error).toMatchObject({
      code: 'EXPRESS_CONSUL_INVALID_OPTION',
      path: 'sample.timeoutMs',
      rule: 'a duration in ms from 1 to 2147483647',
    });
  });

  it.each([
    [
      'an integer',
      () => read({ timeoutMs: 1.5 }).integer('timeoutMs', { min: 1, max: 9 }),
      'an integer from 1 to 9 (got 1.5)',
    ],
    [
      'an exclusive minimum',
      () => read({ timeoutMs: 0 }).number('timeoutMs', { min: 0, minExclusive: true }),
      'a number > 0 (got 0)',
    ],
    [
      'a non-number',
      () => read({ timeoutMs: '5' }).number('timeoutMs', { min: 0 }),
      'a number >= 0 (got "5")',
    ],
    ['NaN', () => read({ timeoutMs: Number.NaN }).number('timeoutMs', {}), 'a number (got NaN)'],
    ['a boolean', () => read({ mode: 'yes' }).boolean('mode'), 'true or false (got "yes")'],
    [
      'one of',
      () => read({ mode: 'c' }).oneOf('mode', ['a', 'b'] as const),
      "one of 'a', 'b' (got \"c\")",
    ],
    ['a blank string', () => read({ name: '  ' }).string('name'), 'a non-empty string (got "  ")'],
    ['a function', () => read({ name: 1 }).fn('name'), 'a function (got 1)'],
    [
      'a list',
      () => read({ name: ['x', ''] }).stringList('name'),
      'a list of non-empty strings (got a list of 2)',
    ],
    [
      'a nested object',
      () => read({ nested: 7 }).section('nested', { depth: true }),
      'an object (got 7)',
    ],
  ])('words %s the same way', (_what, fn, tail) => {
    const error = configError(fn);
    expect(error.message).toMatch(/^Invalid option sample\.\w+: must be /);
    expect(error.message.endsWith(tail)).toBe(true);
  });

  it('builds nested paths from the prefix it is given, never rewriting them', () => {
    const nested = read({ nested: { depth: -1 } }, 'discovery.services.payments').section(
      'nested',
      { depth: true },
    );
    expect(configError(() => nested.integer('depth', { min: 0 })).path).toBe(
      'discovery.services.payments.nested.depth',
    );
  });

  it('never shows the value of an option that may hold a secret', () => {
    const secret = 'hunter2-super-secret-token-value';
    const error = configError(() => read({ token: secret }).string('token', { pattern: /^x/ }));
    expect(error.message).toBe(
      'Invalid option sample.token: must be a non-empty string (got a string)',
    );
    expect(error.message).not.toContain('hunter2');
    expect(new ConfigError('client.tls.key', 'a PEM string', secret).message).not.toContain(
      'hunter2',
    );
    expect(new ConfigError('consul.tls.cert', 'a PEM string', secret).message).toContain(
      '(got a string)',
    );
  });

  it('never shows the value of an unknown key (it could be a misspelt token)', () => {
    const error = configError(() => read({ tokne: 'hunter2' }));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain("did you mean 'token'?");
    expect(error.message).toContain('(got a string)');
  });

  it('takes the fallback only for an absent or undefined value', () => {
    expect(read({}).ms('timeoutMs', { min: 1 }, 42)).toBe(42);
    expect(read({ timeoutMs: undefined }).ms('timeoutMs', { min: 1 }, 42)).toBe(42);
    expect(read({ timeoutMs: 7 }).ms('timeoutMs', { min: 1 }, 42)).toBe(7);
    expect(() => read({ timeoutMs: null }).ms('timeoutMs', { min: 1 }, 42)).toThrow(ConfigError);
  });

  it('refuses a duration Node timers cannot hold', () => {
    expect(() => read({ timeoutMs: 2 ** 31 }).ms('timeoutMs', { min: 0 })).toThrow(ConfigError);
  });
});

describe('describeValue', () => {
  it('quotes and cuts long strings', () => {
    const shown = describeValue('x'.repeat(100));
    expect(shown).toBe(`"${'x'.repeat(40)}"… (100 characters)`);
  });

  it('describes objects, lists, buffers and functions by kind only', () => {
    expect(describeValue({ password: 'p' })).toBe('an object');
    expect(describeValue([1, 2, 3])).toBe('a list of 3');
    expect(describeValue(Buffer.from('secret'))).toBe('a Buffer');
    expect(describeValue(() => 'secret')).toBe('a function');
    expect(describeValue(new Map())).toBe('a Map');
  });
});

describe('unknown keys', () => {
  it('are refused with the full path and the closest known key', () => {
    const error = configError(() => read({ timeotMs: 5 }, 'discovery.client'));
    expect(error.path).toBe('discovery.client.timeotMs');
    expect(error.message).toBe(
      "Invalid option discovery.client.timeotMs: must be one of the options of discovery.client; did you mean 'timeoutMs'? (got a number)",
    );
  });

  it('list the known keys when none is close', () => {
    const error = configError(() => read({ retries: 3 }));
    expect(error.message).toContain('(name, timeoutMs, token, mode, nested)');
    expect(error.message).not.toContain('did you mean');
  });

  it('are refused at the top level too', () => {
    expect(configError(() => read({ nmae: 'x' }, '')).message).toContain(
      "Invalid option nmae: must be one of the top-level options; did you mean 'name'?",
    );
  });

  it('are not checked by a lenient reader (a reader of a subset of the keys)', () => {
    expect(OptionReader.lenient<Sample>({ other: 1, name: 'n' }, 'x').string('name')).toBe('n');
  });
});

describe('closestKey', () => {
  it.each([
    ['nmae', 'name'],
    ['timeotMs', 'timeoutMs'],
    ['drainTimeotMs', 'drainTimeoutMs'],
    ['TimeoutMs', 'timeoutMs'],
    ['tga', 'tag'],
  ])('suggests %s → %s', (typed, expected) => {
    expect(closestKey(typed, ['name', 'tag', 'timeoutMs', 'drainTimeoutMs', 'deadlineMs'])).toBe(
      expected,
    );
  });

  it.each([['ip'], ['retries'], ['x']])('suggests nothing for %s', (typed) => {
    expect(closestKey(typed, ['id', 'name', 'maxAttempts', 'timeoutMs'])).toBeUndefined();
  });

  it('counts an adjacent swap as one edit', () => {
    expect(editDistance('nmae', 'name')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

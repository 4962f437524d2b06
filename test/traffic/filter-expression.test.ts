import fc from 'fast-check';
import { FilterExpressionError } from '../../src/errors';
import {
  MAX_DEPTH,
  MAX_EXPRESSION_LENGTH,
  parseFilterAst,
  parseFilterExpression,
} from '../../src/traffic/filter-expression';

const entry = {
  Node: {
    ID: 'node-id',
    Node: 'node-a',
    Address: '127.0.0.1',
    Datacenter: 'dc1',
    TaggedAddresses: { lan: '127.0.0.1' },
    Meta: { rack: 'r1' },
  },
  Service: {
    ID: 'web-1',
    Service: 'web',
    Tags: ['v1', 'blue'],
    Address: '127.0.0.2',
    TaggedAddresses: { lan_ipv4: { Address: '127.0.0.2', Port: 8080 } },
    Meta: { version: '1.2', 'build id': 'x y', env: 'prod' },
    Port: 8080,
    Weights: { Passing: 3, Warning: 1 },
    EnableTagOverride: false,
    Connect: {},
    PeerName: '',
  },
  Checks: [
    { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', ServiceTags: [] },
    { CheckID: 'service:web-1', Name: 'http', Status: 'warning', ServiceTags: ['v1'] },
  ],
};

const evaluate = (source: string, datum: unknown = entry): boolean =>
  parseFilterExpression(source).matches(datum);

function refusal(source: string): FilterExpressionError {
  try {
    parseFilterExpression(source);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterExpressionError);
    return error as FilterExpressionError;
  }
  throw new Error(`accepted ${source}`);
}

describe('filter expressions (go-bexpr v0.1.2 semantics)', () => {
  it.each([
    ['Service.Meta.version == "1.2"', true],
    ['Service.Meta.version == 1.2', true], // a number literal is compared as its text
    ['Service.Meta.env == prod', true], // an unquoted word is a value
    ['Service.Meta.env != prod', false],
    ['Service.Meta["build id"] == "x y"', true],
    ['Service["Meta"].env == `prod`', true],
    ['Service.Port == 8080', true],
    ['Service.Port == "0x1F90"', true],
    ['Service.Port != 8081', true],
    ['Service.Weights.Passing == 3', true],
    ['Service.EnableTagOverride == false', true],
    ['Service.EnableTagOverride == F', true],
    ['Service.Kind == ""', true], // absent from the JSON: Go's zero value
    ['Service.Connect.Native == false', true],
    ['Service.TaggedAddresses.lan_ipv4.Port == 8080', true],
    ['Node.TaggedAddresses.lan == "127.0.0.1"', true],
    ['Node.Meta.rack == r1', true],
  ])('%s -> %p', (source, expected) => {
    expect(evaluate(source)).toBe(expected);
  });

  it('in / contains: list membership, substring of a string, key of a map', () => {
    expect(evaluate('"v1" in Service.Tags')).toBe(true);
    expect(evaluate('v in Service.Tags')).toBe(false); // membership, not substring
    expect(evaluate('Service.Tags contains blue')).toBe(true);
    expect(evaluate('"green" not in Service.Tags')).toBe(true);
    expect(evaluate('Service.Tags not contains v1')).toBe(false);
    expect(evaluate('"eb-" in Service.ID')).toBe(true); // substring
    expect(evaluate('Service.ID contains "web"')).toBe(true);
    expect(evaluate('env in Service.Meta')).toBe(true); // key presence
    expect(evaluate('prod in Service.Meta')).toBe(false); // values are not keys
  });

  it('is empty / is not empty on lists and maps; a JSON null is an empty one', () => {
    expect(evaluate('Service.Tags is not empty')).toBe(true);
    expect(evaluate('Service.Meta is empty')).toBe(false);
    const bare = { ...entry, Service: { ...entry.Service, Tags: null, Meta: null } };
    expect(evaluate('Service.Tags is empty', bare)).toBe(true);
    expect(evaluate('Service.Meta is empty', bare)).toBe(true);
    expect(evaluate('Checks is not empty')).toBe(true);
  });

  it('below a list of structs a match holds when ANY element matches; an empty list matches nothing', () => {
    expect(evaluate('Checks.Status == warning')).toBe(true);
    expect(evaluate('Checks.Status == critical')).toBe(false);
    expect(evaluate('Checks.Status != passing')).toBe(true); // the warning check
    expect(evaluate('v1 in Checks.ServiceTags')).toBe(true);
    const none = { ...entry, Checks: [] };
    expect(evaluate('Checks.Status != passing', none)).toBe(false);
    expect(evaluate('Checks.Status == passing', none)).toBe(false);
  });

  it('an absent map key: ==, in and is-not-empty are false, every other operator true (matches too)', () => {
    expect(evaluate('Service.Meta.missing == x')).toBe(false);
    expect(evaluate('Service.Meta.missing != x')).toBe(true);
    expect(evaluate('Service.Meta.missing contains x')).toBe(false);
    expect(evaluate('Service.Meta.missing not contains x')).toBe(true);
    expect(evaluate('Service.Meta.missing matches "^x$"')).toBe(true); // go-bexpr v0.1.2 quirk
    expect(evaluate('Service.Meta.missing not matches "^x$"')).toBe(true);
  });

  it('matches is an unanchored Go regexp search', () => {
    expect(evaluate('Service.ID matches "eb"')).toBe(true);
    expect(evaluate('Service.ID matches "^web-[0-9]+$"')).toBe(true);
    expect(evaluate('Service.ID not matches "^web-[0-9]+$"')).toBe(false);
    expect(evaluate('Service.Meta.version matches `^1\\.`')).toBe(true);
  });

  it('and binds tighter than or; not applies to the next term; parentheses group', () => {
    expect(evaluate('Service.Port == 1 and Service.Port == 2 or Service.ID == "web-1"')).toBe(true);
    expect(evaluate('Service.ID == "web-1" or Service.Port == 1 and Service.Port == 2')).toBe(true);
    expect(evaluate('(Service.ID == "web-1" or Service.Port == 1) and Service.Port == 2')).toBe(
      false,
    );
    expect(evaluate('not Service.ID == "web-1" or Service.Port == 8080')).toBe(true);
    expect(evaluate('not (Service.ID == "web-1" or Service.Port == 8080)')).toBe(false);
    expect(evaluate('not not Service.ID == "web-1"')).toBe(true);
    expect(evaluate('  Service.ID=="web-1"  ')).toBe(true);
  });

  it('an unquoted value is an identifier: `web-1` is `web` followed by junk', () => {
    expect(refusal('Service.ID == web-1').position).toBe(17);
  });

  it('keywords need whitespace around them, as in the grammar', () => {
    expect(refusal('(Service.Port == 1)or(Service.Port == 2)').position).toBeGreaterThan(0);
    expect(() => parseFilterExpression('Service.Tags contains"v1"')).toThrow(FilterExpressionError);
    // `notes` is a selector, not `not` + `es`
    expect(parseFilterAst('notes == x')).toMatchObject({ type: 'match', selector: ['notes'] });
  });

  it.each([
    ['Service.Foo == 1', 'Selector "Service.Foo" is not valid', 0],
    ['Service.Meta.a.b == 1', 'Selector "Service.Meta.a.b" is not valid', 0],
    ['Service.Port matches "8"', 'Invalid match operator "Matches"', 0],
    ['Service.Meta.x is empty', 'Invalid match operator "Is Empty"', 0],
    ['Service.Weights == 1', 'Invalid match operator "Equal"', 0],
    ['Service.Port == 1.5', 'Failed to coerce value "1.5"', 0],
    ['Service.Port == "08"', 'Failed to coerce value "08"', 0],
    ['Service.EnableTagOverride == yes', 'Failed to coerce value "yes"', 0],
    ['Service.ID matches "("', 'Failed to compile regular expression', 0],
    ['Service.ID == web and Service.Nope == 1', 'Selector "Service.Nope" is not valid', 22],
    ['(Service.ID == web', 'Unmatched parentheses', 18],
    ['Service.ID == "unterminated', 'Unterminated string literal', 14],
    ['Service.ID == "a\\"b"', 'invalid syntax in string literal', 14],
    ['Service.Port == 01', 'Invalid number literal', 17],
    ['Service.ID ==', 'expected a value', 13],
    ['   ', 'expected a match expression', 3],
  ])('refuses %p: %s at %d', (source, reason, position) => {
    const error = refusal(source);
    expect(error.reason).toContain(reason);
    expect(error.position).toBe(position);
    expect(error.code).toBe('EXPRESS_CONSUL_FILTER_EXPRESSION');
  });

  it('the empty expression is Consul’s "no filter": everything matches', () => {
    expect(evaluate('')).toBe(true);
    expect(evaluate('', {})).toBe(true);
  });

  it('bounds what it parses: length and nesting', () => {
    expect(refusal('Service.ID == a or '.repeat(600) + 'Service.ID == a').reason).toContain(
      `longer than ${MAX_EXPRESSION_LENGTH}`,
    );
    const deep = `${'('.repeat(MAX_DEPTH + 1)}Service.ID == a${')'.repeat(MAX_DEPTH + 1)}`;
    expect(refusal(deep).reason).toContain('nested deeper');
    expect(refusal(`${'not '.repeat(MAX_DEPTH + 1)}Service.ID == a`).reason).toContain(
      'nested deeper',
    );
    const fine = `${'('.repeat(MAX_DEPTH - 1)}Service.ID == "web-1"${')'.repeat(MAX_DEPTH - 1)}`;
    expect(evaluate(fine)).toBe(true);
  });

  it('a long flat chain of or/and terms is not nesting: 150 terms parse and evaluate', () => {
    const terms = Array.from({ length: 150 }, (_, i) => `Service.Port == ${9000 + i}`);
    expect(evaluate(terms.join(' or '))).toBe(false);
    expect(evaluate([...terms, 'Service.Port == 8080'].join(' or '))).toBe(true);
    expect(evaluate(terms.map((t) => t.replace('==', '!=')).join(' and '))).toBe(true);
  });

  it('matches() never throws and returns a boolean, whatever the entry holds', () => {
    const filters = [
      'Service.Meta.version == "1.2"',
      'Checks.Status != passing',
      'v1 in Service.Tags',
      'Service.Port == 8080 and Service.TaggedAddresses.lan.Port != 1',
      'Service.Meta is not empty or Node.Meta.rack matches "r"',
    ].map(parseFilterExpression);
    fc.assert(
      fc.property(fc.anything(), fc.jsonValue(), (anything, json) => {
        for (const filter of filters) {
          expect(typeof filter.matches(anything)).toBe('boolean');
          expect(typeof filter.matches({ Service: json, Checks: json, Node: json })).toBe(
            'boolean',
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('parsing any string either succeeds or throws FilterExpressionError', () => {
    const pieces = fc.constantFrom(
      'Service.Meta.x',
      'Service.Tags',
      'Checks.Status',
      '==',
      '!=',
      ' ',
      'and',
      'or',
      'not',
      'in',
      'contains',
      'matches',
      'is',
      'empty',
      '(',
      ')',
      '"v"',
      '`r`',
      '1',
      '-2.5',
      '[',
      ']',
      '"',
      '\\',
      '.',
      'x',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.string(), (parts, noise) => {
        for (const source of [parts.join(' '), parts.join(''), noise]) {
          try {
            parseFilterExpression(source);
          } catch (error) {
            expect(error).toBeInstanceOf(FilterExpressionError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

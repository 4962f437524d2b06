// Consul's filter language (hashicorp/go-bexpr v0.1.2, the version Consul 1.16.3 pins), as a
// service-resolver subset `Filter` uses it, evaluated against one element of
// `GET /v1/health/service/:name` (`{Node:{...}, Service:{...}, Checks:[...]}`).
//
// Grammar (go-bexpr grammar.peg), and what follows from it:
//   Or    := And (_ "or" _ Or)?          keywords need whitespace on both sides: `a==1 or b==2`,
//   And   := Not (_ "and" _ And)?        never `(a==1)or(b==2)`
//   Not   := "not" _ Not | Paren
//   Paren := "(" _? Or _? ")" | Match
//   Match := Selector ("==" | "!=" | _"contains"_ | _"not contains"_ | _"matches"_ | _"not matches"_) Value
//          | Selector _"is"_"empty" | Selector _"is"_"not"_"empty"
//          | Value (_"in"_ | _"not"_"in"_) Selector
//   Selector := Ident ("." Ident | "[" _? String _? "]")*     Ident := [a-zA-Z][a-zA-Z0-9_]*
//   Value := Selector (its text, `v2` or `a.b`) | Number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`) | String
//   String := "..." (Go escapes; no `"` inside, not even escaped) | `...` (raw)
//
// Semantics (go-bexpr evaluate.go + Consul's field types, see filter-schema.ts):
// - A selector is checked against the field table; the operator must suit the field's type and
//   the value must coerce to it (Go ParseInt base 0 / ParseBool), else Consul refuses (400).
// - Below a list of structs (`Checks.Status == passing`) the match holds if ANY element matches;
//   an empty list matches nothing, even `!=`.
// - A map key that is absent (`Service.Meta.missing`) makes `==`, `in`/`contains` false and every
//   other operator TRUE, `matches` included (a go-bexpr v0.1.2 quirk we keep for parity).
// - `in`/`contains` on a string is a substring test; on a list, membership; on a map, key presence.
// - `matches` is Go's unanchored regexp search (our linear-time engine, re2.ts).
//
// Our own limits (Consul has none, we must not hang or recurse without bound on Consul data):
// expressions longer than MAX_EXPRESSION_LENGTH characters, nested deeper than MAX_DEPTH, or with a
// regex larger than re2.ts MAX_PROGRAM are refused with a FilterExpressionError.
import { FilterExpressionError } from '../errors';
import { HEALTH_SERVICE_ENTRY, SUPPORTED_OPERATORS } from './filter-schema';
import type { FieldType, MatchOperator } from './filter-schema';
import { goParseBool, goParseInt, goUnquote } from './go-strconv';
import { Re2, Re2SyntaxError } from './re2';

export const MAX_EXPRESSION_LENGTH = 10_000;
export const MAX_DEPTH = 100;

/** A parsed, validated filter: `matches` never throws, whatever the entry holds. */
export interface FilterExpression {
  readonly source: string;
  matches(entry: unknown): boolean;
}

/** Syntax tree of an expression before it is checked against the field table. */
export type FilterAst =
  /** A chain `a or b or c` (or `and`): go-bexpr nests it to the right; the outcome is the same. */
  | { readonly type: 'and' | 'or'; readonly operands: readonly FilterAst[] }
  | { readonly type: 'not'; readonly operand: FilterAst }
  | {
      readonly type: 'match';
      readonly selector: readonly string[];
      readonly operator: MatchOperator;
      /** Raw text of the value (a string literal already unquoted); undefined for is (not) empty. */
      readonly value: string | undefined;
      readonly position: number;
    };

/** Internal: where and why parsing stopped; turned into a FilterExpressionError by the caller. */
class Failure extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const WS = /[ \t\r\n]/;
const IDENT_START = /[a-zA-Z]/;
const IDENT_PART = /[a-zA-Z0-9_]/;

/** Recursive descent over the PEG; ordered choice is kept, re-parsing is avoided. */
class FilterParser {
  private pos = 0;
  private depth = 0;
  /** Farthest point reached, for the error position (as pigeon reports it). */
  private farthest = { position: 0, reason: 'no match found' };

  constructor(private readonly src: string) {}

  parse(): FilterAst {
    this.ws();
    const ast = this.or();
    this.ws();
    if (ast === undefined || this.pos < this.src.length) {
      throw new Failure(this.farthest.position, this.farthest.reason);
    }
    return ast;
  }

  private fail(position: number, reason: string): undefined {
    // Plain data, not an Error: failed alternatives are frequent and need no stack trace.
    if (position >= this.farthest.position) this.farthest = { position, reason };
    return undefined;
  }

  /** `_?`; returns whether any whitespace was consumed (for `_`). */
  private ws(): boolean {
    const start = this.pos;
    while (this.pos < this.src.length && WS.test(this.src[this.pos]!)) this.pos++;
    return this.pos > start;
  }

  /** `_ word _`-style sequences: every word preceded by mandatory whitespace. */
  private keywords(words: readonly string[], trailing: boolean): boolean {
    const start = this.pos;
    for (const word of words) {
      if (!this.ws() || !this.src.startsWith(word, this.pos)) {
        this.fail(this.pos, `expected "${word}"`);
        this.pos = start;
        return false;
      }
      this.pos += word.length;
    }
    if (trailing && !this.ws()) {
      this.fail(this.pos, 'expected whitespace');
      this.pos = start;
      return false;
    }
    return true;
  }

  /** Counts parentheses and `not`s, the only recursion in the grammar. */
  private nested<T>(parse: () => T): T | undefined {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      throw new Failure(this.pos, `nested deeper than ${MAX_DEPTH} levels`);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): FilterAst | undefined {
    return this.chain('or', () => this.and());
  }

  private and(): FilterAst | undefined {
    return this.chain('and', () => this.not());
  }

  /**
   * `term (_ keyword _ term)*`, read in a loop so a long flat chain is not deep recursion. When the
   * term after a keyword fails, the PEG falls back to what came before it, and so do we.
   */
  private chain(keyword: 'or' | 'and', term: () => FilterAst | undefined): FilterAst | undefined {
    const first = term();
    if (first === undefined) return undefined;
    const operands = [first];
    for (;;) {
      const mark = this.pos;
      const next = this.keywords([keyword], true) ? term() : undefined;
      if (next === undefined) {
        this.pos = mark;
        break;
      }
      operands.push(next);
    }
    return operands.length === 1 ? first : { type: keyword, operands };
  }

  private not(): FilterAst | undefined {
    const start = this.pos;
    if (this.src.startsWith('not', this.pos)) {
      this.pos += 3;
      if (this.ws()) {
        const operand = this.nested(() => this.not());
        if (operand !== undefined) {
          // go-bexpr folds `not not x` to `x`; the outcome is the same either way.
          return operand.type === 'not' ? operand.operand : { type: 'not', operand };
        }
      }
      this.pos = start;
    }
    return this.paren();
  }

  private paren(): FilterAst | undefined {
    const start = this.pos;
    if (this.src[this.pos] === '(') {
      this.pos++;
      this.ws();
      const inner = this.nested(() => this.or());
      if (inner !== undefined) {
        this.ws();
        if (this.src[this.pos] === ')') {
          this.pos++;
          return inner;
        }
        this.fail(this.pos, 'Unmatched parentheses');
      }
      this.pos = start;
      return undefined;
    }
    return this.match();
  }

  private match(): FilterAst | undefined {
    const start = this.pos;
    const selector = this.selector();
    if (selector !== undefined) {
      const afterSelector = this.pos;
      const operator = this.selectorValueOperator();
      if (operator !== undefined) {
        const value = this.value();
        if (value !== undefined)
          return { type: 'match', selector, operator, value, position: start };
      }
      this.pos = afterSelector;
      if (this.keywords(['is', 'empty'], false)) {
        return { type: 'match', selector, operator: 'isEmpty', value: undefined, position: start };
      }
      if (this.keywords(['is', 'not', 'empty'], false)) {
        return {
          type: 'match',
          selector,
          operator: 'isNotEmpty',
          value: undefined,
          position: start,
        };
      }
      this.pos = start;
    }
    const value = this.value();
    if (value !== undefined) {
      const operator = this.keywords(['in'], true)
        ? 'in'
        : this.keywords(['not', 'in'], true)
          ? 'notIn'
          : undefined;
      if (operator !== undefined) {
        const target = this.selector();
        if (target !== undefined) {
          return { type: 'match', selector: target, operator, value, position: start };
        }
        this.fail(this.pos, 'Invalid selector');
      }
    }
    this.pos = start;
    return this.fail(start, 'expected a match expression');
  }

  private selectorValueOperator(): MatchOperator | undefined {
    const start = this.pos;
    for (const [text, operator] of [
      ['==', 'equal'],
      ['!=', 'notEqual'],
    ] as const) {
      this.ws();
      if (this.src.startsWith(text, this.pos)) {
        this.pos += text.length;
        this.ws();
        return operator;
      }
      this.pos = start;
    }
    const worded: [readonly string[], MatchOperator][] = [
      [['contains'], 'in'],
      [['not', 'contains'], 'notIn'],
      [['matches'], 'matches'],
      [['not', 'matches'], 'notMatches'],
    ];
    for (const [words, operator] of worded) {
      if (this.keywords(words, true)) return operator;
    }
    this.fail(start, 'expected an operator');
    return undefined;
  }

  private identifier(): string | undefined {
    const start = this.pos;
    if (!IDENT_START.test(this.src[this.pos] ?? '')) return this.fail(start, 'expected a name');
    this.pos++;
    while (IDENT_PART.test(this.src[this.pos] ?? '')) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private selector(): string[] | undefined {
    const first = this.identifier();
    if (first === undefined) return undefined;
    const parts = [first];
    for (;;) {
      const mark = this.pos;
      if (this.src[this.pos] === '.') {
        this.pos++;
        const ident = this.identifier();
        if (ident !== undefined) {
          parts.push(ident);
          continue;
        }
        this.pos = mark;
        return parts;
      }
      if (this.src[this.pos] === '[') {
        this.pos++;
        this.ws();
        const key = this.stringLiteral();
        if (key === undefined) {
          this.fail(this.pos, 'Invalid index');
          this.pos = mark;
          return parts;
        }
        this.ws();
        if (this.src[this.pos] !== ']') {
          this.fail(this.pos, 'Unclosed index expression');
          this.pos = mark;
          return parts;
        }
        this.pos++;
        parts.push(key);
        continue;
      }
      return parts;
    }
  }

  private value(): string | undefined {
    const selector = this.selector();
    if (selector !== undefined) return selector.join('.');
    const number = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?/.exec(this.src.slice(this.pos));
    if (number) {
      const end = this.pos + number[0].length;
      const next = this.src[end];
      if (next === undefined || next === ')' || WS.test(next)) {
        this.pos = end;
        return number[0];
      }
      return this.fail(end, 'Invalid number literal');
    }
    return this.stringLiteral();
  }

  private stringLiteral(): string | undefined {
    const start = this.pos;
    const quote = this.src[this.pos];
    if (quote !== '"' && quote !== '`') return this.fail(start, 'expected a value');
    const end = this.src.indexOf(quote, start + 1);
    if (end === -1) return this.fail(start, 'Unterminated string literal');
    const text = goUnquote(this.src.slice(start, end + 1));
    if (text === undefined) return this.fail(start, 'invalid syntax in string literal');
    this.pos = end + 1;
    return text;
  }
}

/** Parses `source` into a syntax tree (no check against the fields); throws FilterExpressionError. */
export function parseFilterAst(source: string): FilterAst {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new FilterExpressionError(
      source,
      MAX_EXPRESSION_LENGTH,
      `longer than ${MAX_EXPRESSION_LENGTH} characters`,
    );
  }
  try {
    return new FilterParser(source).parse();
  } catch (error) {
    if (error instanceof Failure) {
      throw new FilterExpressionError(source, error.position, error.reason);
    }
    throw error;
  }
}

type Test = (entry: unknown) => boolean;

/** A value coerced to its field's type, as go-bexpr's CoerceFn does once at validation. */
type Coerced = string | bigint | boolean | Re2 | undefined;

const OPERATOR_TEXT: Record<MatchOperator, string> = {
  equal: 'Equal',
  notEqual: 'Not Equal',
  in: 'In',
  notIn: 'Not In',
  isEmpty: 'Is Empty',
  isNotEmpty: 'Is Not Empty',
  matches: 'Matches',
  notMatches: 'Not Matches',
};

/** The type at each depth of `selector` (index 0: the entry itself), as go-bexpr validates it. */
function typesAlong(selector: readonly string[], source: string, position: number): FieldType[] {
  const types: FieldType[] = [HEALTH_SERVICE_ENTRY];
  selector.forEach((name, index) => {
    const type = types[index]!;
    let next: FieldType | undefined;
    if (type.kind === 'struct' || type.kind === 'structList') {
      next = Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
    } else if (type.kind === 'map') next = type.value;
    if (next === undefined) {
      throw new FilterExpressionError(
        source,
        position,
        `Selector "${selector.slice(0, index + 1).join('.')}" is not valid`,
      );
    }
    types.push(next);
  });
  return types;
}

function coerce(
  type: FieldType,
  operator: MatchOperator,
  raw: string | undefined,
  fail: (reason: string) => never,
): Coerced {
  if (raw === undefined) {
    if (operator !== 'isEmpty' && operator !== 'isNotEmpty') fail('requires a value');
    return undefined;
  }
  let value: Coerced = raw;
  if (type.kind === 'int') {
    value = goParseInt(raw);
    if (value === undefined) fail(`Failed to coerce value "${raw}" to an integer`);
  } else if (type.kind === 'bool') {
    value = goParseBool(raw);
    if (value === undefined) fail(`Failed to coerce value "${raw}" to a boolean`);
  }
  if (operator === 'matches' || operator === 'notMatches') {
    try {
      value = Re2.compile(raw);
    } catch (error) {
      if (error instanceof Re2SyntaxError) {
        fail(`Failed to compile regular expression "${raw}": ${error.reason}`);
      }
      throw error;
    }
  }
  return value;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON value read as the Go field would hold it (JSON `null` or absent: the zero value). */
function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function asInt(value: unknown): bigint {
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : 0n;
}

function terminal(
  type: FieldType,
  operator: MatchOperator,
  value: Coerced,
  datum: unknown,
): boolean {
  switch (operator) {
    case 'equal':
    case 'notEqual': {
      let equal: boolean;
      if (type.kind === 'int') equal = asInt(datum) === value;
      else if (type.kind === 'bool') equal = (datum === true) === value;
      else equal = asString(datum) === value;
      return equal === (operator === 'equal');
    }
    case 'in':
    case 'notIn': {
      const needle = value as string;
      let found: boolean;
      if (type.kind === 'stringList') {
        found = Array.isArray(datum) && datum.some((item) => item === needle);
      } else if (type.kind === 'map') {
        found = isRecord(datum) && Object.hasOwn(datum, needle);
      } else found = asString(datum).includes(needle);
      return found === (operator === 'in');
    }
    case 'isEmpty':
    case 'isNotEmpty': {
      const size = Array.isArray(datum)
        ? datum.length
        : isRecord(datum)
          ? Object.keys(datum).length
          : 0;
      return (size === 0) === (operator === 'isEmpty');
    }
    case 'matches':
    case 'notMatches':
      return (value as Re2).test(asString(datum)) === (operator === 'matches');
  }
}

/** go-bexpr's evaluateMatchExpressionRecurse over JSON instead of Go reflection. */
function walk(
  types: readonly FieldType[],
  selector: readonly string[],
  operator: MatchOperator,
  value: Coerced,
  depth: number,
  datum: unknown,
): boolean {
  const type = types[depth]!;
  if (depth === selector.length) return terminal(type, operator, value, datum);
  const name = selector[depth]!;
  switch (type.kind) {
    case 'struct': {
      const field = isRecord(datum) ? datum[name] : undefined;
      return walk(types, selector, operator, value, depth + 1, field);
    }
    case 'structList':
      // Any element: an empty (or absent) list matches nothing, whatever the operator.
      return (
        Array.isArray(datum) &&
        datum.some((item) =>
          walk(
            types,
            selector,
            operator,
            value,
            depth + 1,
            isRecord(item) ? item[name] : undefined,
          ),
        )
      );
    case 'map': {
      if (!isRecord(datum) || !Object.hasOwn(datum, name)) {
        return !(operator === 'equal' || operator === 'isNotEmpty' || operator === 'in');
      }
      return walk(types, selector, operator, value, depth + 1, datum[name]);
    }
    default:
      return false; // unreachable: fieldAt only lets a selector continue below containers
  }
}

function compileAst(ast: FilterAst, source: string): Test {
  switch (ast.type) {
    case 'and': {
      const operands = ast.operands.map((operand) => compileAst(operand, source));
      return (entry) => operands.every((test) => test(entry)); // left to right, short-circuit
    }
    case 'or': {
      const operands = ast.operands.map((operand) => compileAst(operand, source));
      return (entry) => operands.some((test) => test(entry));
    }
    case 'not': {
      const operand = compileAst(ast.operand, source);
      return (entry) => !operand(entry);
    }
    case 'match': {
      const { selector, operator, position } = ast;
      const fail = (reason: string): never => {
        throw new FilterExpressionError(source, position, reason);
      };
      const types = typesAlong(selector, source, position);
      const type = types[types.length - 1]!;
      if (!SUPPORTED_OPERATORS[type.kind].includes(operator)) {
        fail(
          `Invalid match operator "${OPERATOR_TEXT[operator]}" for selector "${selector.join('.')}"`,
        );
      }
      const value = coerce(type, operator, ast.value, fail);
      return (entry) => walk(types, selector, operator, value, 0, entry);
    }
  }
}

/**
 * Parses and validates a filter against the fields of a health entry, as Consul does before
 * running it. An empty string is Consul's "no filter": it matches every entry.
 * @throws FilterExpressionError when Consul would refuse the expression (or we do, see above)
 */
export function parseFilterExpression(source: string): FilterExpression {
  if (typeof source !== 'string') {
    throw new FilterExpressionError(String(source), 0, 'not a string');
  }
  const test: Test = source === '' ? () => true : compileAst(parseFilterAst(source), source);
  return Object.freeze({
    source,
    matches(entry: unknown): boolean {
      return test(entry);
    },
  });
}

// A linear-time matcher for the RE2 syntax Go's `regexp` package accepts (Consul evaluates filter
// `matches` and router PathRegex/Header.Regex/QueryParam.Regex with Go's regexp or Envoy's RE2).
//
// Why our own engine and not `new RegExp`: JS regular expressions backtrack, so a hostile pattern
// from a config entry (`(a+)+$`) or a crafted header against an innocent one could hang the event
// loop. This one compiles to a Thompson NFA and simulates all threads at once (no backtracking):
// time is O(input length × program size), and the program size is capped (`MAX_PROGRAM`).
//
// Covered: literals, `.`, classes (`[a-z]`, `[^...]`, `[[:alpha:]]`, `\d\s\w` and negations,
// `\pL`/`\p{Greek}` via a one-code-point JS test), anchors `^ $ \A \z \b \B`, groups `(...)`,
// `(?:...)`, `(?P<n>...)`, `(?<n>...)`, flags `(?imsU)` and `(?i:...)`, `* + ? {n} {n,} {n,m}`
// (lazy forms too: laziness does not change whether a match exists), `|`, `\Q...\E`, escapes
// `\a \f \t \n \r \v \x41 \x{263a} \123`. Refused as Go refuses them: backreferences,
// lookaround, repeat counts above 1000, nested repetition (`a**`).
// Known approximation: `(?i)` compares a code point with its JS lower and upper case forms (Go
// uses Unicode simple folding; they differ only for a few characters such as the Kelvin sign).

/** The pattern is not valid RE2 (or exceeds our size cap); `position` is a code-unit offset. */
export class Re2SyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at offset ${position}`);
    this.name = 'Re2SyntaxError';
  }
}

/** Upper bound of NFA instructions; a pattern needing more is refused (bounds matching time). */
export const MAX_PROGRAM = 5_000;
const MAX_REPEAT = 1_000;

type Pred = (cp: number) => boolean;
type Assertion = 'bol' | 'eol' | 'bot' | 'eot' | 'word' | 'notWord';
type Node =
  | { kind: 'empty' }
  | { kind: 'char'; pred: Pred }
  | { kind: 'assert'; what: Assertion }
  | { kind: 'concat'; parts: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; min: number; max: number; body: Node };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

type Range = readonly [number, number];

const ascii = (spec: string): Range[] => {
  const out: Range[] = [];
  for (let i = 0; i < spec.length; i++) {
    const lo = spec.codePointAt(i)!;
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      out.push([lo, spec.codePointAt(i + 2)!]);
      i += 2;
    } else out.push([lo, lo]);
  }
  return out;
};

const PERL: Record<string, Range[]> = {
  d: ascii('0-9'),
  s: ascii('\t\n\f\r '),
  w: ascii('0-9A-Za-z_'),
};

const POSIX: Record<string, Range[]> = {
  alnum: ascii('0-9A-Za-z'),
  alpha: ascii('A-Za-z'),
  ascii: [[0, 0x7f]],
  blank: ascii('\t '),
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: ascii('0-9'),
  graph: [[0x21, 0x7e]],
  lower: ascii('a-z'),
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: ascii('\t\n\v\f\r '),
  upper: ascii('A-Z'),
  word: ascii('0-9A-Za-z_'),
  xdigit: ascii('0-9A-Fa-f'),
};

const inRanges = (ranges: readonly Range[], cp: number): boolean =>
  ranges.some(([lo, hi]) => cp >= lo && cp <= hi);

const isWordChar = (cp: number): boolean => inRanges(PERL.w!, cp);

function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const variants = new Set([cp]);
  for (const other of [s.toLowerCase(), s.toUpperCase()]) {
    // Only one-code-point mappings: Go's simple folding never maps one rune to several.
    if ([...other].length === 1) variants.add(other.codePointAt(0)!);
  }
  return [...variants];
}

function folded(pred: Pred, fold: boolean): Pred {
  return fold ? (cp) => caseVariants(cp).some(pred) : pred;
}

const GENERAL_CATEGORY = /^[A-Z][a-z]?$/;

function unicodeClass(name: string, at: number): Pred {
  if (name === 'Any') return () => true;
  let probe: RegExp;
  try {
    // A single code point against a single property escape: no backtracking is possible.
    probe = new RegExp(
      GENERAL_CATEGORY.test(name) ? `^\\p{${name}}$` : `^\\p{Script=${name}}$`,
      'u',
    );
  } catch {
    throw new Re2SyntaxError(`invalid character class range \\p{${name}}`, at);
  }
  return (cp) => probe.test(String.fromCodePoint(cp));
}

class Parser {
  private pos = 0;
  private readonly flags: Flags[] = [];

  constructor(private readonly src: string) {}

  parse(): Node {
    this.flags.push({ i: false, m: false, s: false });
    const node = this.alternation();
    if (this.pos < this.src.length) {
      throw new Re2SyntaxError('unexpected )', this.pos);
    }
    return node;
  }

  private get flag(): Flags {
    return this.flags[this.flags.length - 1]!;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private alternation(): Node {
    const options = [this.concatenation()];
    while (this.peek() === '|') {
      this.pos++;
      options.push(this.concatenation());
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  private concatenation(): Node {
    const parts: Node[] = [];
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const start = this.pos;
      const atom = this.atom();
      if (atom === undefined) continue; // a flag group like (?i) or \Q\E: no node
      parts.push(this.repetitions(atom, start));
    }
    if (parts.length === 0) return { kind: 'empty' };
    return parts.length === 1 ? parts[0]! : { kind: 'concat', parts };
  }

  private repetitions(atom: Node, atomStart: number): Node {
    let node = atom;
    let repeated = false;
    for (;;) {
      const at = this.pos;
      const bounds = this.repeatOperator();
      if (bounds === undefined) return node;
      if (repeated) {
        throw new Re2SyntaxError(
          `invalid nested repetition operator: ${this.src.slice(atomStart, this.pos)}`,
          at,
        );
      }
      if (this.peek() === '?') this.pos++; // lazy: same set of matches
      repeated = true;
      node = { kind: 'repeat', min: bounds[0], max: bounds[1], body: node };
    }
  }

  /** Reads `* + ? {n} {n,} {n,m}`; a `{` that is not a valid repeat stays a literal (as in Go). */
  private repeatOperator(): [number, number] | undefined {
    const c = this.peek();
    if (c === '*') return (this.pos++, [0, -1]);
    if (c === '+') return (this.pos++, [1, -1]);
    if (c === '?') return (this.pos++, [0, 1]);
    if (c !== '{') return undefined;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
      throw new Re2SyntaxError(`invalid repeat count: ${m[0]}`, this.pos);
    }
    this.pos += m[0].length;
    return [min, max];
  }

  private atom(): Node | undefined {
    const at = this.pos;
    const c = this.src.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case '*':
      case '+':
      case '?':
        throw new Re2SyntaxError(`missing argument to repetition operator: ${ch}`, at);
      case '{':
        if (/^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos))) {
          throw new Re2SyntaxError('missing argument to repetition operator: {', at);
        }
        this.pos++;
        return this.literal(c);
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '.': {
        this.pos++;
        const dotAll = this.flag.s;
        return { kind: 'char', pred: dotAll ? () => true : (cp) => cp !== 0x0a };
      }
      case '^':
        this.pos++;
        return { kind: 'assert', what: this.flag.m ? 'bol' : 'bot' };
      case '$':
        this.pos++;
        return { kind: 'assert', what: this.flag.m ? 'eol' : 'eot' };
      case '\\':
        return this.escapeAtom();
      default:
        this.pos += ch.length;
        return this.literal(c);
    }
  }

  private literal(cp: number): Node {
    const variants = this.flag.i ? caseVariants(cp) : [cp];
    return { kind: 'char', pred: (x) => variants.includes(x) };
  }

  private group(): Node | undefined {
    const open = this.pos;
    this.pos++;
    let saved: Flags | undefined;
    if (this.peek() === '?') {
      const rest = this.src.slice(this.pos);
      const named = /^\?P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (named) {
        this.pos += named[0].length;
      } else {
        const flagged = /^\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(rest);
        if (!flagged || /[^imsU]/.test((flagged[1] ?? '') + (flagged[2] ?? ''))) {
          throw new Re2SyntaxError(
            `invalid or unsupported Perl syntax: (${rest.slice(0, 2)}`,
            open,
          );
        }
        if (
          flagged[2] === '' ||
          (flagged[1] === '' && flagged[2] === undefined && flagged[3] === ')')
        ) {
          throw new Re2SyntaxError('missing argument to flag group', open);
        }
        const next = { ...this.flag };
        for (const f of flagged[1] ?? '') if (f !== 'U') next[f as keyof Flags] = true;
        for (const f of flagged[2] ?? '') if (f !== 'U') next[f as keyof Flags] = false;
        this.pos += flagged[0].length;
        if (flagged[3] === ')') {
          // `(?i)` changes the flags of the rest of the enclosing group.
          this.flags[this.flags.length - 1] = next;
          return undefined;
        }
        saved = next;
      }
    }
    this.flags.push(saved ?? { ...this.flag });
    const body = this.alternation();
    this.flags.pop();
    if (this.peek() !== ')') throw new Re2SyntaxError('missing closing )', open);
    this.pos++;
    return body;
  }

  private escapeAtom(): Node | undefined {
    const at = this.pos;
    const next = this.src[this.pos + 1];
    if (next === undefined) throw new Re2SyntaxError('trailing backslash at end of expression', at);
    switch (next) {
      case 'A':
        this.pos += 2;
        return { kind: 'assert', what: 'bot' };
      case 'z':
        this.pos += 2;
        return { kind: 'assert', what: 'eot' };
      case 'b':
        this.pos += 2;
        return { kind: 'assert', what: 'word' };
      case 'B':
        this.pos += 2;
        return { kind: 'assert', what: 'notWord' };
      case 'Q': {
        const end = this.src.indexOf('\\E', this.pos + 2);
        const text = this.src.slice(this.pos + 2, end === -1 ? undefined : end);
        this.pos = end === -1 ? this.src.length : end + 2;
        const parts = [...text].map((ch) => this.literal(ch.codePointAt(0)!));
        if (parts.length === 0) return undefined;
        return parts.length === 1 ? parts[0] : { kind: 'concat', parts };
      }
      default: {
        const cls = this.classEscape();
        if (cls) return { kind: 'char', pred: folded(cls, this.flag.i) };
        return this.literal(this.escapedCodePoint());
      }
    }
  }

  /** `\d \D \s \S \w \W \pX \p{X} \PX \P{X}` at `pos`, or undefined (nothing consumed). */
  private classEscape(): Pred | undefined {
    const at = this.pos;
    const letter = this.src[this.pos + 1]!;
    const perl = PERL[letter.toLowerCase()];
    if (perl && 'dswDSW'.includes(letter)) {
      this.pos += 2;
      const negate = letter !== letter.toLowerCase();
      return (cp) => inRanges(perl, cp) !== negate;
    }
    if (letter === 'p' || letter === 'P') {
      let name: string;
      if (this.src[this.pos + 2] === '{') {
        const end = this.src.indexOf('}', this.pos + 3);
        if (end === -1) throw new Re2SyntaxError('invalid character class range', at);
        name = this.src.slice(this.pos + 3, end);
        this.pos = end + 1;
      } else {
        name = this.src[this.pos + 2] ?? '';
        this.pos += 3;
      }
      let negate = letter === 'P';
      if (name.startsWith('^')) {
        negate = !negate;
        name = name.slice(1);
      }
      const pred = unicodeClass(name, at);
      return (cp) => pred(cp) !== negate;
    }
    return undefined;
  }

  /** A single escaped character (`\n`, `\x41`, `\101`, `\.`) at `pos`. */
  private escapedCodePoint(): number {
    const at = this.pos;
    const c = this.src[this.pos + 1]!;
    this.pos += 2;
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (c in simple) return simple[c]!;
    if (c >= '0' && c <= '7') {
      // A lone \1-\7 is a backreference in Perl: Go refuses it, so do we.
      const m = /^[0-7]{1,3}/.exec(this.src.slice(at + 1))!;
      if (c !== '0' && m[0].length === 1) {
        throw new Re2SyntaxError(`invalid escape sequence: \\${c}`, at);
      }
      this.pos = at + 1 + m[0].length;
      return parseInt(m[0], 8);
    }
    if (c === 'x') {
      const braced = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos));
      const two = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos));
      const hex = braced ? braced[1]! : two ? two[0] : undefined;
      const value = hex === undefined ? NaN : parseInt(hex, 16);
      if (!(value <= 0x10ffff)) throw new Re2SyntaxError('invalid escape sequence: \\x', at);
      this.pos += braced ? braced[0].length : 2;
      return value;
    }
    const cp = c.codePointAt(0)!;
    // Only punctuation may be escaped to stand for itself (Go refuses `\q`, `\8`...).
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return cp;
    throw new Re2SyntaxError(`invalid escape sequence: \\${c}`, at);
  }

  private charClass(): Node {
    const open = this.pos;
    this.pos++;
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.pos++;
    }
    const ranges: Range[] = [];
    const preds: Pred[] = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) {
        throw new Re2SyntaxError(`missing closing ]: ${this.src.slice(open)}`, open);
      }
      const c = this.peek()!;
      if (c === ']' && !first) break;
      first = false;
      const at = this.pos;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
      if (posix) {
        const table = POSIX[posix[2]!];
        if (!table) throw new Re2SyntaxError(`invalid character class range: ${posix[0]}`, at);
        this.pos += posix[0].length;
        const not = posix[1] === '^';
        preds.push((cp) => inRanges(table, cp) !== not);
        continue;
      }
      if (c === '\\') {
        const cls = this.classEscape();
        if (cls) {
          preds.push(cls);
          continue;
        }
      }
      const lo = this.classChar();
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        const hi = this.classChar();
        if (hi < lo) {
          throw new Re2SyntaxError(
            `invalid character class range: ${this.src.slice(at, this.pos)}`,
            at,
          );
        }
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.pos++; // ]
    const base: Pred = (cp) => inRanges(ranges, cp) || preds.some((p) => p(cp));
    const matchesBase = folded(base, this.flag.i);
    return { kind: 'char', pred: negate ? (cp) => !matchesBase(cp) : matchesBase };
  }

  private classChar(): number {
    if (this.peek() === '\\') {
      if (this.pos + 1 >= this.src.length) {
        throw new Re2SyntaxError('trailing backslash at end of expression', this.pos);
      }
      return this.escapedCodePoint();
    }
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

type Inst =
  | { op: 'char'; pred: Pred; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jmp'; to: number }
  | { op: 'assert'; what: Assertion; next: number }
  | { op: 'match' };

class Compiler {
  readonly prog: Inst[] = [];

  constructor(private readonly source: string) {}

  private emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM) {
      throw new Re2SyntaxError(
        `expression too large (more than ${MAX_PROGRAM} instructions)`,
        this.source.length,
      );
    }
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  /** Appends `node`; every dangling exit is patched to the next instruction emitted. */
  compile(node: Node): void {
    switch (node.kind) {
      case 'empty':
        return;
      case 'char': {
        const at = this.emit({ op: 'char', pred: node.pred, next: -1 });
        (this.prog[at] as { next: number }).next = at + 1;
        return;
      }
      case 'assert': {
        const at = this.emit({ op: 'assert', what: node.what, next: -1 });
        (this.prog[at] as { next: number }).next = at + 1;
        return;
      }
      case 'concat':
        for (const part of node.parts) this.compile(part);
        return;
      case 'alt': {
        const jumps: number[] = [];
        node.options.forEach((option, index) => {
          if (index === node.options.length - 1) {
            this.compile(option);
            return;
          }
          const split = this.emit({ op: 'split', a: -1, b: -1 });
          this.compile(option);
          jumps.push(this.emit({ op: 'jmp', to: -1 }));
          this.prog[split] = { op: 'split', a: split + 1, b: this.prog.length };
        });
        for (const j of jumps) this.prog[j] = { op: 'jmp', to: this.prog.length };
        return;
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i++) this.compile(node.body);
        if (node.max === -1) {
          const split = this.emit({ op: 'split', a: -1, b: -1 });
          this.compile(node.body);
          this.emit({ op: 'jmp', to: split });
          this.prog[split] = { op: 'split', a: split + 1, b: this.prog.length };
          return;
        }
        const splits: number[] = [];
        for (let i = node.min; i < node.max; i++) {
          splits.push(this.emit({ op: 'split', a: -1, b: -1 }));
          this.compile(node.body);
        }
        for (const s of splits) this.prog[s] = { op: 'split', a: s + 1, b: this.prog.length };
        return;
      }
    }
  }
}

/** A compiled RE2 pattern; both methods run in time linear in the input's length. */
export class Re2 {
  private constructor(
    readonly source: string,
    private readonly prog: readonly Inst[],
  ) {}

  /** Parses and compiles `source`; throws {@link Re2SyntaxError} when Go would refuse it. */
  static compile(source: string): Re2 {
    const compiler = new Compiler(source);
    compiler.compile(new Parser(source).parse());
    compiler.prog.push({ op: 'match' });
    return new Re2(source, compiler.prog);
  }

  /** NFA instructions of the compiled pattern: a match costs O(input length x this). */
  get programSize(): number {
    return this.prog.length;
  }

  /** True when the pattern matches anywhere in `text` (Go's `regexp.MatchString`). */
  test(text: string): boolean {
    return this.run(text, false);
  }

  /** True when the pattern matches all of `text` (RE2 FullMatch, as Envoy's safe_regex). */
  fullMatch(text: string): boolean {
    return this.run(text, true);
  }

  private run(text: string, full: boolean): boolean {
    const input = Array.from(text, (ch) => ch.codePointAt(0)!);
    const seen = new Int32Array(this.prog.length).fill(-1);
    let current: number[] = [];
    let next: number[] = [];
    let step = 0;
    const add = (list: number[], pc: number, at: number): boolean => {
      // Epsilon closure with an explicit stack: deep patterns cannot overflow the call stack.
      const stack = [pc];
      while (stack.length > 0) {
        const p = stack.pop()!;
        if (seen[p] === step) continue;
        seen[p] = step;
        const inst = this.prog[p]!;
        switch (inst.op) {
          case 'jmp':
            stack.push(inst.to);
            break;
          case 'split':
            stack.push(inst.b, inst.a);
            break;
          case 'assert':
            if (holds(inst.what, input, at)) stack.push(inst.next);
            break;
          case 'match':
            if (!full || at === input.length) return true;
            break;
          case 'char':
            list.push(p);
            break;
        }
      }
      return false;
    };
    for (let at = 0; ; at++) {
      if ((at === 0 || !full) && add(current, 0, at)) return true;
      if (at >= input.length || current.length === 0) {
        if (full || at >= input.length) return false;
      }
      step++;
      const cp = input[at]!;
      for (const pc of current) {
        const inst = this.prog[pc] as Extract<Inst, { op: 'char' }>;
        if (inst.pred(cp) && add(next, inst.next, at + 1)) return true;
      }
      [current, next] = [next, current];
      next.length = 0;
    }
  }
}

function holds(what: Assertion, input: readonly number[], at: number): boolean {
  const before = at > 0 ? input[at - 1] : undefined;
  const after = at < input.length ? input[at] : undefined;
  switch (what) {
    case 'bot':
      return at === 0;
    case 'eot':
      return at === input.length;
    case 'bol':
      return before === undefined || before === 0x0a;
    case 'eol':
      return after === undefined || after === 0x0a;
    case 'word':
    case 'notWord': {
      const boundary =
        (before !== undefined && isWordChar(before)) !== (after !== undefined && isWordChar(after));
      return what === 'word' ? boundary : !boundary;
    }
  }
}

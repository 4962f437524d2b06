/**
 * Parsing a large JSON array without stalling the event loop: one `JSON.parse` of a 50,000-entry
 * health answer takes about a second of one thread, during which the service answers nothing. The
 * top-level array is split into its elements by a small scanner (it only tracks strings and nesting;
 * `JSON.parse` of each element does the real validation), and the work yields to the event loop
 * with `setImmediate` whenever a slice of time has been used.
 */

/**
 * Bodies at least this long (UTF-16 code units) are parsed incrementally; shorter ones at once.
 * The split costs about 2.5x the CPU of one JSON.parse (measured on 2-core AMD EPYC, Node 20: a
 * 434 KB answer of 1,000 checks 1.9 ms at once, 4.7 ms in slices; 874 KB 3.9 against 10.0), and
 * below about a MiB one JSON.parse holds the loop about a slice (PARSE_SLICE_MS) anyway. At 256 KB
 * every worker following 1,000 services paid the slices for each check-watch answer, on the host
 * of the agent whose blocking answers it was waiting for (issue #12).
 */
export const INCREMENTAL_PARSE_MIN_LENGTH = 1024 * 1024;

/** Longest stretch of parsing between two yields to the event loop, in ms. */
export const PARSE_SLICE_MS = 4;

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// JSON's own whitespace: JSON.parse accepts exactly these four around values.
function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Options of {@link parseJsonIncrementally}; every field is optional. */
export interface IncrementalParseOptions {
  /** Stops the parse; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Longest stretch between yields, in ms. Default: PARSE_SLICE_MS (4). */
  readonly sliceMs?: number;
  /** Clock for the slices, in ms. Default: performance.now. */
  readonly now?: () => number;
  /** Bodies shorter than this are parsed at once, in UTF-16 code units. Default: INCREMENTAL_PARSE_MIN_LENGTH. */
  readonly minLength?: number;
  /** How to yield. Default: setImmediate (lets I/O callbacks run in between). */
  readonly yieldNow?: () => Promise<void>;
}

const defaultYield = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `JSON.parse(text)`, giving the event loop a turn every `sliceMs` while a large top-level array is
 * parsed: same result, same SyntaxError for malformed input (its message may differ). A body that
 * is not a top-level array, or is shorter than INCREMENTAL_PARSE_MIN_LENGTH, is parsed at once.
 */
export async function parseJsonIncrementally(
  text: string,
  options: IncrementalParseOptions = {},
): Promise<unknown> {
  let start = 0;
  while (start < text.length && isJsonWhitespace(text.charCodeAt(start))) start += 1;
  const minLength = options.minLength ?? INCREMENTAL_PARSE_MIN_LENGTH;
  if (text.length < minLength || text.charCodeAt(start) !== OPEN_BRACKET) {
    return JSON.parse(text) as unknown;
  }
  const sliceMs = options.sliceMs ?? PARSE_SLICE_MS;
  const now = options.now ?? (() => performance.now());
  const yieldNow = options.yieldNow ?? defaultYield;
  const elements: unknown[] = [];
  let sliceStart = now();
  for (const element of jsonArrayElements(text, start)) {
    elements.push(JSON.parse(element) as unknown);
    if (now() - sliceStart >= sliceMs) {
      await yieldNow();
      options.signal?.throwIfAborted();
      sliceStart = now();
    }
  }
  return elements;
}

/**
 * The source text of each element of the top-level array starting at `start` (which holds `[`).
 * Throws SyntaxError when the array is not closed or is followed by anything but whitespace;
 * malformed elements are left to JSON.parse.
 */
export function* jsonArrayElements(text: string, start = 0): Generator<string> {
  if (text.charCodeAt(start) !== OPEN_BRACKET) throw new SyntaxError('expected a JSON array');
  let position = start + 1;
  let elementStart = position;
  let depth = 0;
  let sawElement = false;
  const length = text.length;
  while (position < length) {
    const code = text.charCodeAt(position);
    if (code === QUOTE) {
      position = endOfString(text, position);
      continue;
    }
    if (code === OPEN_BRACKET || code === OPEN_BRACE) depth += 1;
    else if (depth > 0 && (code === CLOSE_BRACKET || code === CLOSE_BRACE)) depth -= 1;
    else if (depth === 0 && (code === COMMA || code === CLOSE_BRACKET)) {
      const element = text.slice(elementStart, position);
      if (code === CLOSE_BRACKET) {
        // `[]` and `[ ]` are empty arrays; `[1,]` is malformed (JSON.parse('') throws below).
        if (sawElement || element.trim() !== '') yield element;
        for (position += 1; position < length; position += 1) {
          if (!isJsonWhitespace(text.charCodeAt(position))) {
            throw new SyntaxError(`unexpected content after the JSON array at ${position}`);
          }
        }
        return;
      }
      sawElement = true;
      yield element;
      elementStart = position + 1;
    }
    position += 1;
  }
  throw new SyntaxError('unterminated JSON array');
}

/** Position just past the string whose opening quote is at `quote`; throws when it never ends. */
function endOfString(text: string, quote: number): number {
  let position = quote + 1;
  for (;;) {
    const next = text.indexOf('"', position);
    if (next < 0) throw new SyntaxError('unterminated JSON string');
    // An odd run of backslashes before the quote escapes it.
    let backslashes = 0;
    for (let i = next - 1; i > quote && text.charCodeAt(i) === BACKSLASH; i -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return next + 1;
    position = next + 1;
  }
}

// Text from Consul (ids, node names, tags, meta) and from a status document is written by whoever
// can register a service or answer a URL: it must never drive the operator's terminal (clear the
// screen, set the title, move the cursor, hide text behind bidi reordering, forge lines).

/**
 * Characters a terminal acts on rather than shows: C0 controls (ESC, BEL, CR, LF, TAB, ...), DEL,
 * C1 controls (0x80-0x9f, CSI and OSC among them), the line and paragraph separators, and the bidi
 * marks and overrides (U+061C, U+200E-200F, U+202A-202E, U+2066-2069).
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The same characters minus C0 controls, which JSON.stringify escapes already. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex = (char: string, width: number): string =>
  char.charCodeAt(0).toString(16).padStart(width, '0');

/**
 * `text` with every character a terminal would act on shown as an escape (`\x1b`, `\x0a`,
 * `\u202e`), so an ESC sequence prints as its text and a line stays one line. Idempotent: its
 * output holds none of those characters. Every string from Consul or a status document goes
 * through here before it reaches the terminal (the table code and every printer call it).
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (char) =>
    char.charCodeAt(0) <= 0xff ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`,
  );
}

/**
 * `value` as one line of JSON that is exactly JSON.stringify's (it parses to the same value) but
 * whose bytes hold no terminal control either: JSON escapes C0 controls itself, and the others
 * are written as `\uXXXX` escapes, which can only occur inside JSON strings.
 */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (char) => `\\u${hex(char, 4)}`);
}

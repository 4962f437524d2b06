import { terminalSafe } from './terminal-safe';

/** Tones a cell may be painted in; plain text when colours are off. */
export type Tone = 'green' | 'yellow' | 'red' | 'dim' | 'bold';

/** A table cell: text, optionally with a tone. */
export type Cell = string | { readonly text: string; readonly tone?: Tone | undefined };

/** A column: its title and whether its cells line up on the right (numbers). */
export interface Column {
  readonly title: string;
  readonly align?: 'left' | 'right';
}

const SGR: Record<Tone, string> = {
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  dim: '\x1b[2m',
  bold: '\x1b[1m',
};

/**
 * `text`, made terminal-safe, wrapped in the ANSI codes of `tone` when `colour` is on: the only
 * escape sequences the CLI writes are these.
 */
export function paint(text: string, tone: Tone | undefined, colour: boolean): string {
  const safe = terminalSafe(text);
  return colour && tone !== undefined ? `${SGR[tone]}${safe}\x1b[0m` : safe;
}

/** True when output to `stream` should be coloured: a TTY, and `NO_COLOR` unset (no-color.org). */
export function wantsColour(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '';
}

/** The tone Consul's health states are shown in. */
export function healthTone(health: string): Tone | undefined {
  if (health === 'passing') return 'green';
  if (health === 'warning') return 'yellow';
  if (health === 'critical' || health === 'maintenance') return 'red';
  return 'dim';
}

/**
 * Renders rows under a header line, columns padded to their widest cell and separated by two
 * spaces. Cells are made terminal-safe first and padding is computed on that text, so neither
 * hostile data nor colours shift the columns.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly Cell[])[],
  colour: boolean,
): string[] {
  const text = (cell: Cell | undefined): string =>
    terminalSafe(cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text);
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...rows.map((row) => text(row[i]).length)),
  );
  const line = (cells: readonly Cell[], header: boolean): string =>
    columns
      .map((column, i) => {
        const cell = cells[i];
        const plain = text(cell);
        const padding = ' '.repeat((widths[i] ?? 0) - plain.length);
        const tone = header ? 'bold' : typeof cell === 'object' ? cell.tone : undefined;
        const painted = paint(plain, tone, colour);
        return column.align === 'right' ? padding + painted : painted + padding;
      })
      .join('  ')
      .trimEnd();
  return [
    line(
      columns.map((column) => column.title),
      true,
    ),
    ...rows.map((row) => line(row, false)),
  ];
}

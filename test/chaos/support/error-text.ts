// What a leak check reads of an error: everything it carries, causes included, as text.

/** Name, message, stack, own fields and the cause chain of `error`, as one text. */
export function errorText(error: unknown, depth = 0): string {
  if (depth > 5 || error === null || error === undefined) return '';
  if (!(error instanceof Error)) return JSON.stringify(error) ?? typeof error;
  const fields = Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'cause'));
  return [
    error.name,
    error.message,
    error.stack ?? '',
    JSON.stringify(fields),
    errorText((error as { cause?: unknown }).cause, depth + 1),
  ].join('\n');
}

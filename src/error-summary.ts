// The one way an error becomes text in a log line or in another error's message. Our own errors
// never hold the ACL token (it lives only in a header and in ConsulToken), but a foreign error
// (undici, a user's hook, a proxy's answer) is not ours: its message is cut short and anything shaped
// like a token assignment is blanked before it is shown.

/** Longest message shown, in characters: a foreign error may carry a whole response body. */
const MAX_MESSAGE_CHARS = 500;

/**
 * `X-Consul-Token: v`, `token=v`, `"token": "v"`, `Authorization: Bearer v` and the like: the value
 * is replaced, the name kept so the reader sees that something was there.
 */
const SECRET_ASSIGNMENT =
  /((?:x-consul-token|consul_http_token|token|authorization|bearer)["']?\s*[:=]?\s*["']?(?:bearer\s+)?)[^\s"'&,;}]+/gi;

/** Error fields safe for logs: name, code and message. */
export interface ErrorSummary {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

/** The fields of `error` a log line shows (`{ err: errorSummary(error) }`). */
export function errorSummary(error: unknown): ErrorSummary {
  if (error instanceof Error) {
    const code = codeOf(error);
    return {
      name: error.name,
      ...(code !== undefined && { code }),
      message: safeMessage(error.message),
    };
  }
  return { name: 'Error', message: safeMessage(String(error)) };
}

/** `error` in one line for another message: `CODE: message`, or the message alone. */
export function describeError(error: unknown): string {
  const { code, message } = errorSummary(error);
  return code === undefined ? message : `${code}: ${message}`;
}

function codeOf(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function safeMessage(message: string): string {
  const blanked = message.replace(SECRET_ASSIGNMENT, '$1[redacted]');
  return blanked.length > MAX_MESSAGE_CHARS ? `${blanked.slice(0, MAX_MESSAGE_CHARS)}…` : blanked;
}

import { request } from 'undici';
import { describeError } from '../error-summary';
import { startDeadline } from '../resilience/deadline';
import { CliError, ExitCode } from './exit-codes';
import { readStatusDocument, StatusDocumentError } from './status-document';
import type { StatusDocument } from './status-document';

/** Largest status answer read, in bytes: a wrong URL may stream anything. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The status URL as typed (`host:port/status` gets `http://`); CliError(usage) when it is not one. */
export function parseStatusUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(ExitCode.usage, `'${raw}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(ExitCode.usage, `'${raw}': only http and https URLs are supported`);
  return url;
}

/**
 * GETs a service's status JSON and checks its shape. Never sends the Consul token: the status
 * route belongs to the service, not to Consul. Failures are CliErrors with the exit code scripts
 * branch on: 2 unreachable (or 502/503/504), 3 for 401/403, 5 for anything that is not the JSON.
 */
export async function fetchStatusDocument(
  url: URL,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<StatusDocument> {
  const where = `${url.origin}${url.pathname}`;
  const deadline = startDeadline(options.timeoutMs, options.signal);
  const signal = deadline.signal;
  let status: number;
  let body: string;
  try {
    const answer = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'express-consul-cli' },
      signal,
    });
    status = answer.statusCode;
    body = await readCapped(answer.body, where);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const reason = signal.aborted
      ? `no answer within ${options.timeoutMs} ms`
      : describeError(error);
    throw new CliError(ExitCode.unreachable, `GET ${where}: ${reason}`, { cause: error });
  } finally {
    deadline.dispose();
  }
  if (status === 401 || status === 403)
    throw new CliError(ExitCode.aclDenied, `GET ${where}: access denied (${status})`);
  if (status === 502 || status === 503 || status === 504)
    throw new CliError(ExitCode.unreachable, `GET ${where}: answered ${status}`);
  if (status < 200 || status >= 300)
    throw new CliError(
      ExitCode.garbage,
      `GET ${where}: answered ${status}, not the status JSON (is the status route mounted there?)`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new CliError(
      ExitCode.garbage,
      `GET ${where}: the answer is not JSON (starts with ${JSON.stringify(body.slice(0, 40))})`,
    );
  }
  try {
    return readStatusDocument(parsed);
  } catch (error) {
    if (error instanceof StatusDocumentError)
      throw new CliError(
        ExitCode.garbage,
        `GET ${where}: not an express-consul status answer: ${error.message}`,
      );
    throw error;
  }
}

async function readCapped(body: AsyncIterable<Buffer>, where: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new CliError(
        ExitCode.garbage,
        `GET ${where}: answer larger than ${MAX_BODY_BYTES} bytes`,
      );
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import { ConsulResponseTooLargeError } from '../errors';

/**
 * Reads an undici response body as UTF-8 text, at most `maxBytes` of it: a declared
 * `content-length` above the cap fails before any byte is read, and a body that passes it while
 * streaming (chunked, or lying about its length) fails as soon as it does. Either way the body is
 * destroyed (so is its connection) and ConsulResponseTooLargeError names `endpoint`.
 */
export async function readBody(
  response: Pick<Dispatcher.ResponseData, 'body' | 'headers' | 'statusCode'>,
  maxBytes: number,
  endpoint: string,
): Promise<string> {
  const { body } = response;
  const tooLarge = (): ConsulResponseTooLargeError => {
    // Destroying emits undici's RequestAbortedError; nobody else listens, and the error that
    // matters is ours.
    body.on('error', () => undefined);
    body.destroy();
    return new ConsulResponseTooLargeError(endpoint, response.statusCode, maxBytes);
  };
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  // Decoded as it arrives, a chunk at a time: one Buffer.concat and toString of a 36 MB answer
  // (50,000 instances) held the event loop for tens of ms. The decoder keeps a character split
  // between two chunks whole and replaces invalid bytes with U+FFFD, as toString does.
  const decoder = new StringDecoder('utf8');
  const parts: string[] = [];
  let received = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) throw tooLarge();
    parts.push(decoder.write(chunk));
  }
  parts.push(decoder.end());
  return parts.length === 1 ? parts[0]! : parts.join('');
}

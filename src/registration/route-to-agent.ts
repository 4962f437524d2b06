import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { AbortedError, ConsulUnavailableError } from '../errors';
import { startDeadline } from '../resilience/deadline';
import { raceAbort } from '../resilience/aborted-promise';

/** How long resolving the agent's name and finding the route to it may take, in ms. */
export const ROUTE_TO_AGENT_TIMEOUT_MS = 2_000;

/**
 * The local address this host uses to reach the agent at `origin`: the address of the interface
 * the route to the agent goes through, i.e. the local address of a socket connected to it.
 *
 * A connected UDP socket gives the same answer as a TCP connection would (the kernel picks the
 * source address the same way) without sending a packet: nothing reaches the agent, no connection
 * counts against its per-client limit, and the answer is there even while the agent is down.
 * Rejects with `ConsulUnavailableError` when the name does not resolve or there is no route.
 */
export async function localAddressToward(
  origin: string,
  {
    timeoutMs = ROUTE_TO_AGENT_TIMEOUT_MS,
    signal,
  }: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const url = new URL(origin);
  const fail = (why: string, cause?: unknown): ConsulUnavailableError =>
    new ConsulUnavailableError('(route to the agent)', `${url.host}: ${why}`, { cause });
  const aborted = (): Error =>
    signal?.aborted
      ? new AbortedError('finding the route to the Consul agent', { cause: signal.reason })
      : fail(`no answer within ${timeoutMs} ms`);
  const deadline = startDeadline(timeoutMs, signal);
  try {
    return await connectedAddress(url, deadline.signal, aborted, fail);
  } finally {
    deadline.dispose();
  }
}

/** The local address of a UDP socket connected to `url`'s host and port, unless `stop` aborts first. */
async function connectedAddress(
  url: URL,
  stop: AbortSignal,
  aborted: () => Error,
  fail: (why: string, cause?: unknown) => ConsulUnavailableError,
): Promise<string> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let target: { address: string; family: number };
  try {
    target = await raceAbort(lookup(hostname), stop, aborted);
  } catch (error) {
    if (error instanceof AbortedError || stop.aborted) throw aborted();
    throw fail(`name does not resolve (${(error as Error).message})`, error);
  }
  const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
  try {
    await raceAbort(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, target.address, () => resolve());
      }),
      stop,
      aborted,
    );
    return socket.address().address;
  } catch (error) {
    if (stop.aborted) throw aborted();
    throw fail(`no route to ${target.address} (${(error as Error).message})`, error);
  } finally {
    try {
      socket.close();
    } catch {
      // Never bound (the connect failed first): nothing to close.
    }
  }
}

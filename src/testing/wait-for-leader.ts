import { AbortedError, ConsulUnavailableError } from '../errors';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once the agent at `address` reports a raft leader (`GET /v1/status/leader` answers a
 * non-empty address): before that, registrations and catalog reads fail with "No cluster leader".
 * Polls every 100 ms; rejects with `ConsulUnavailableError` after `timeoutMs`, `AbortedError` on abort.
 */
export async function waitForLeader(
  address: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (signal?.aborted)
      throw new AbortedError('waiting for a Consul leader', { cause: signal.reason });
    try {
      const response = await fetch(`${address}/v1/status/leader`, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(2_000, deadline - Date.now()))),
      });
      const leader = (await response.text()).trim();
      if (response.ok && leader !== '' && leader !== '""') return;
      last = `status ${response.status}, leader ${leader || 'empty'}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new ConsulUnavailableError(
        '/v1/status/leader',
        `no leader within ${timeoutMs} ms (${last})`,
      );
    }
    // A ref'd timer, unlike resilience/delay: while a container starts, nothing else may keep the
    // process alive, and a test waiting for its Consul must not see Node exit under it.
    await sleep(100, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

/**
 * Runs the readiness polls `poll` until they resolve, or until `died` (the agent's exit) rejects
 * first; either way the polls stop, their signal aborted once the race is decided. Left running
 * after an agent died, a poll every 100 ms held the caller's process until the start-up timeout.
 * The caller's `signal` aborts them too.
 */
export async function pollWhileAlive<T>(
  poll: (signal: AbortSignal) => Promise<T>,
  died: Promise<never>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const stop = new AbortController();
  const polls = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  const ready = poll(polls);
  // Settled by the race or, once the race is decided, by the abort: never unhandled.
  ready.catch(() => undefined);
  try {
    return await Promise.race([ready, died]);
  } finally {
    stop.abort();
  }
}

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

// A holder cut off from Consul for longer than the lock delay, while Consul invalidates its
// session (its check turns critical): another contender takes the lock once the lock delay has
// run out, so the holder's signal must have aborted before that, on its own trust window.
import { ConsulClient } from '../../src/consul/consul-client';
import { LeaseLostError } from '../../src/errors';
import { ConsulLock } from '../../src/leader/consul-lock';
import type { Logger } from '../../src/logger';
import { startRecordingProxy } from '../../harness/recording-proxy';

const LOCK_DELAY_MS = 2_000;
const address = (): string => process.env.CONSUL_HTTP_ADDR!;
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const CHECK = `lock-unreachable-${process.pid}`;

async function agentPut(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${address()}${path}`, {
    method: 'PUT',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
}

describe('a lock holder that cannot reach Consul', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('aborts its signal before another contender can be elected', async () => {
    await agentPut('/v1/agent/check/register', {
      ID: CHECK,
      Name: CHECK,
      TTL: '60s',
      Status: 'passing',
    });
    cleanup.push(() => agentPut(`/v1/agent/check/deregister/${CHECK}`));
    const proxy = await startRecordingProxy(address());
    const lockVia = (consul: string, checks: string[]): ConsulLock => {
      const client = new ConsulClient({ address: consul, requestTimeoutMs: 1_000 });
      const lock = new ConsulLock(
        client,
        {
          key: `lock-unreachable/${process.pid}`,
          lockDelayMs: LOCK_DELAY_MS,
          sessionName: 'express-consul unreachable test',
          nodeChecks: checks,
          serviceChecks: [],
          holder: { test: 'unreachable' },
          retry: { baseMs: 50, maxMs: 200 },
        },
        silent,
      );
      cleanup.push(
        () => lock.close(),
        () => client.close(),
      );
      return lock;
    };
    // Only the holder's session depends on the check that fails.
    const holder = lockVia(proxy.address, ['serfHealth', CHECK]);
    const contender = lockVia(address(), ['serfHealth']);
    const lease = await holder.acquire({ wait: false });
    let abortedAt: number | undefined;
    lease.signal.addEventListener('abort', () => {
      abortedAt = Date.now();
    });
    const taken = contender.acquire().then((won) => ({ won, at: Date.now() }));

    const cutAt = Date.now();
    await proxy.close();
    await agentPut(`/v1/agent/check/fail/${CHECK}`);
    const { won, at: takenAt } = await taken;

    process.stdout.write(
      `cut off: holder's signal aborted after ${abortedAt! - cutAt} ms, contender took over after ` +
        `${takenAt - cutAt} ms (lock delay ${LOCK_DELAY_MS} ms)\n`,
    );
    expect(won.held).toBe(true);
    expect(abortedAt).toBeDefined();
    expect(abortedAt!).toBeLessThan(takenAt);
    expect(abortedAt! - cutAt).toBeLessThanOrEqual(LOCK_DELAY_MS);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('consul-unreachable');
  }, 30_000);
});

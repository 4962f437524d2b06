// KV configurations and lock watches hold blocking queries too. They must not take the few
// connections kept for registration and other short calls: with every one of those held by a
// blocking KV read, the service's own register/deregister would wait for a blocking query to end.
import { ConsulClient } from '../../src/consul/consul-client';

const consulAddress = (): string => process.env.CONSUL_HTTP_ADDR!;

describe('connection lanes: blocking KV reads and short calls', () => {
  it('answers a short call at once while more blocking KV reads are open than there are short connections', async () => {
    const client = new ConsulClient({ address: consulAddress() });
    const controller = new AbortController();
    try {
      const key = `control-lane-${process.pid}-${Date.now().toString(36)}`;
      const { meta } = await client.kvGet(key);
      const blocking = Array.from({ length: client.connectionBudget.short + 2 }, (_, i) =>
        client
          .kvGet(
            `${key}/${i}`,
            { index: meta.index ?? 1, waitMs: 30_000 },
            { signal: controller.signal },
          )
          .catch(() => undefined),
      );
      // Let the blocking reads reach the agent and hold their connections.
      const heldSince = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const startedAt = performance.now();
      await client.statusLeader();
      const tookMs = performance.now() - startedAt;
      process.stdout.write(
        `short call with ${blocking.length} blocking KV reads open: ${tookMs.toFixed(1)} ms (held ${(startedAt - heldSince).toFixed(0)} ms)\n`,
      );
      // Far below the blocking reads' 30 s and below the 5 s request timeout it would hit queued.
      expect(tookMs).toBeLessThan(2_000);
      controller.abort();
      await Promise.all(blocking);
    } finally {
      controller.abort();
      await client.close();
    }
  }, 30_000);
});

import { ConsulClient } from '../../src/consul/consul-client';
import { POLL_PIPELINING } from '../../src/consul/connection-budget';
import { agentCall, socketsTo } from '../../harness/scale/scale-support';

// The poll lane (issue #12): non-blocking health reads are pipelined on a couple of connections of
// their own, so that (a) blocking queries filling the watch lane never hold them up, and (b) a
// process reads many services at once within its connection budget.
const address = process.env.CONSUL_HTTP_ADDR!;
const port = Number(new URL(address).port);

test('non-blocking reads finish while every blocking connection is held, pipelined within the budget', async () => {
  const name = `poll-lane-${process.pid}`;
  const put = await agentCall(address, 'PUT', '/v1/agent/service/register', {
    Name: name,
    ID: name,
    Port: 1,
  });
  expect(put.status).toBe(200);
  // This process's other sockets to the agent (the jest worker's own clients), not the client's.
  const base = socketsTo(port);
  // 8 connections: 2 short, 1 control, 5 watch, of which 2 poll: 3 for blocking queries.
  const consul = new ConsulClient({ address, maxConnections: 8 });
  const blocking = new AbortController();
  let held: Promise<unknown>[] = [];
  try {
    expect(consul.connectionBudget).toMatchObject({ watch: 5, poll: 2 });
    const first = await consul.healthService(name);
    held = Array.from({ length: 3 }, () =>
      consul
        .healthService(
          name,
          { index: first.meta.index ?? 1, waitMs: 20_000 },
          { signal: blocking.signal },
        )
        .catch(() => undefined),
    );
    // Every blocking connection busy (each holds one socket for up to 20 s).
    const deadline = Date.now() + 5_000;
    while (socketsTo(port) - base < 3 && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    expect(socketsTo(port) - base).toBeGreaterThanOrEqual(3);

    const reads = 2 * POLL_PIPELINING * 2;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: reads }, () => consul.healthService(name)),
    );
    const elapsedMs = Date.now() - started;
    for (const answer of answers) expect(answer.data).toHaveLength(1);
    // Far below the blocking queries' 20 s wait: nothing queued behind them.
    expect(elapsedMs).toBeLessThan(10_000);
    // 3 blocking + at most 2 pipelined poll connections: the watch share (5) is never exceeded.
    expect(socketsTo(port) - base).toBeLessThanOrEqual(consul.connectionBudget.watch);
  } finally {
    blocking.abort();
    await Promise.all(held);
    await consul.close();
    await agentCall(address, 'PUT', `/v1/agent/service/deregister/${name}`);
  }
});

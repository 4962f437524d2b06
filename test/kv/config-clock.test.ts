// The status' times come from the injected clock (pure logic takes now() as an input): last good
// at, and the staleness while queries fail. The source is a stand-in for kvGet; what reaches
// Consul is covered by consul-config.integration.test.ts.
import { ConsulConfig } from '../../src/kv/consul-config';
import type { KvSource } from '../../src/kv/consul-config';
import { resolveConsulConfigOptions } from '../../src/kv/config-options';
import { ConsulUnavailableError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import { waitFor } from '../../harness/wait-for';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

it('reports lastGoodAt and stalenessMs on the clock it was given', async () => {
  let clock = 1_000_000;
  let calls = 0;
  const source: KvSource = {
    kvGet: async () => {
      await Promise.resolve();
      calls += 1;
      if (calls === 1) {
        return {
          data: [
            {
              Key: 'app/c',
              Value: '{"a":1}',
              Flags: 0,
              Session: undefined,
              ModifyIndex: 5,
              LockIndex: 0,
            },
          ],
          meta: { index: 5, knownLeader: true, lastContactMs: 0, cache: undefined },
        };
      }
      throw new ConsulUnavailableError('GET /v1/kv/app/c', 'connection refused');
    },
  };
  const config = new ConsulConfig(
    source,
    resolveConsulConfigOptions('app/c', { backoff: { baseMs: 1, maxMs: 5 } }),
    silent,
    undefined,
    () => 0.5,
    async () => {},
    () => clock,
  );
  config.start();
  try {
    expect(await config.ready()).toEqual({ a: 1 });
    expect(config.status().lastGoodAt).toBe(1_000_000);
    await waitFor('a failed query', () => (config.status().stale ? true : undefined));
    clock += 42_000;
    expect(config.status().stalenessMs).toBe(42_000);
    expect(config.get()).toEqual({ a: 1 });
  } finally {
    await config.close();
  }
});

// A token with only `key:read` (what docs/kv-config.md asks of a configuration): the configuration
// follows Consul, while a lock on the same token fails at once with a typed ACL error, and the
// token appears in no error.
import { ConsulClient } from '../../src/consul/consul-client';
import { createConfig } from '../../src/kv/create-config';
import { ConsulLock } from '../../src/leader/consul-lock';
import { ConsulAclError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';

const MANAGEMENT = 'c0ffee00-1111-4222-8333-777755556666';
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

describe('a key:read token', () => {
  let agent: StartedConsul;
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${agent.address}${path}`, {
      method,
      headers: { 'X-Consul-Token': MANAGEMENT },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };
  const tokenWith = async (name: string, rules: string): Promise<string> => {
    await admin('PUT', '/v1/acl/policy', { Name: name, Rules: rules });
    const token = (await admin('PUT', '/v1/acl/token', { Policies: [{ Name: name }] })) as {
      SecretID: string;
    };
    return token.SecretID;
  };

  beforeAll(async () => {
    agent = await startConsul({ mode: 'binary', acl: { managementToken: MANAGEMENT } });
    await admin('PUT', '/v1/kv/app/settings', { limit: 1 });
  });
  afterAll(async () => {
    await agent.stop();
  });

  it('reads the configuration and its changes; a lock fails with ConsulAclError', async () => {
    const readOnly = await tokenWith('kv-read', 'key_prefix "app/" { policy = "read" }');
    const withSessions = await tokenWith(
      'kv-read-sessions',
      'key_prefix "app/" { policy = "read" }\nsession_prefix "" { policy = "write" }',
    );
    const config = createConfig('app/settings', {
      metrics: false,
      consul: { address: agent.address, token: readOnly },
    });
    try {
      expect(await config.ready()).toEqual({ limit: 1 });
      await admin('PUT', '/v1/kv/app/settings', { limit: 2 });
      await waitFor('the change', () =>
        (config.get() as { limit: number }).limit === 2 ? true : undefined,
      );
    } finally {
      await config.close();
    }

    for (const token of [readOnly, withSessions]) {
      const client = new ConsulClient({ address: agent.address, token });
      const lock = new ConsulLock(
        client,
        {
          key: 'app/lock',
          lockDelayMs: 1_000,
          sessionName: 'express-consul acl test',
          nodeChecks: ['serfHealth'],
          serviceChecks: [],
          holder: { test: 'acl' },
          retry: { baseMs: 50, maxMs: 200 },
        },
        silent,
      );
      try {
        // wait: true as well: an ACL denial is not retried forever.
        const error = await lock.acquire().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ConsulAclError);
        expect((error as ConsulAclError).status).toBe(403);
        expect(String((error as Error).message)).not.toContain(token);
        expect(JSON.stringify(error)).not.toContain(token);
      } finally {
        await lock.close();
        await client.close();
      }
    }
  }, 60_000);
});

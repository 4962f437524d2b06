import express from 'express';
import { ConsulAclError, expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { expectRegistersAndCloses, recordingLogger } from '../support/consul-reads';
import { startRecordingProxy } from '../../harness/recording-proxy';

const MANAGEMENT_TOKEN = 'c0ffee00-1111-4222-8333-444455556666';

describe('registration with ACLs enabled (default deny)', () => {
  let agent: StartedConsul;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  const savedToken = process.env.CONSUL_HTTP_TOKEN;

  beforeAll(async () => {
    agent = await startConsul({ mode: 'binary', acl: { managementToken: MANAGEMENT_TOKEN } });
    proxy = await startRecordingProxy(agent.address);
  });
  afterAll(async () => {
    await proxy.close();
    await agent.stop();
  });
  afterEach(() => {
    if (savedToken === undefined) delete process.env.CONSUL_HTTP_TOKEN;
    else process.env.CONSUL_HTTP_TOKEN = savedToken;
  });

  const options = (logger: ReturnType<typeof recordingLogger>['logger'], token?: string) => ({
    service: { name: 'guarded', check: { intervalMs: 1_000 } },
    consul: { address: proxy.address, ...(token !== undefined && { token }) },
    logger,
    shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
  });

  async function registeredWith(tokenFrom: 'options' | 'env'): Promise<void> {
    const { lines, logger } = recordingLogger();
    if (tokenFrom === 'env') process.env.CONSUL_HTTP_TOKEN = MANAGEMENT_TOKEN;
    else delete process.env.CONSUL_HTTP_TOKEN;
    const adapter = expressConsul(
      express(),
      options(logger, tokenFrom === 'options' ? MANAGEMENT_TOKEN : undefined),
    );
    const reader = new ConsulClient({ address: agent.address, token: MANAGEMENT_TOKEN });
    await expectRegistersAndCloses(adapter, reader);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(MANAGEMENT_TOKEN);
  }

  it('registers with a token from options', async () => {
    await registeredWith('options');
  });

  it('registers with a token from CONSUL_HTTP_TOKEN', async () => {
    await registeredWith('env');
  });

  it('fails with ConsulAclError naming the missing permission without a token', async () => {
    delete process.env.CONSUL_HTTP_TOKEN;
    const { logger } = recordingLogger();
    const adapter = expressConsul(express(), options(logger));
    try {
      const failure = adapter.listen(0, '127.0.0.1');
      await expect(failure).rejects.toBeInstanceOf(ConsulAclError);
      const error = (await failure.catch((e: unknown) => e)) as ConsulAclError;
      expect(error.code).toBe('EXPRESS_CONSUL_ACL_DENIED');
      expect(error.status).toBe(403);
      expect(error.permission).toBe('service:write');
      // The failed start released the server it opened and can be retried.
      expect(adapter.httpServer).toBeUndefined();
      expect(adapter.state).toBe('created');
    } finally {
      await adapter.close();
    }
  });

  it('sends the token only in the X-Consul-Token header, never in a URL', async () => {
    const from = proxy.requests.length;
    await registeredWith('options');
    await registeredWith('env');
    const requests = proxy.requests.slice(from);
    // Each registration at least registers and deregisters through the proxy.
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const request of requests) {
      expect(request.url).not.toContain(MANAGEMENT_TOKEN);
      expect(request.url).not.toMatch(/token=/i);
    }
    const withToken = requests.filter(
      (request) => request.headers['x-consul-token'] === MANAGEMENT_TOKEN,
    );
    expect(withToken).toHaveLength(requests.length);
  });
});
